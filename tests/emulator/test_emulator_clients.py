"""The emulator's OAuth clients as configured: ID:SECRET[:SCOPES], and errors that hide them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.emulator.settings import (
    DEFAULT_SCOPES,
    OAuthClient,
    clients_from_file,
    clients_from_texts,
)

SECRET = "Sup3rSecretValue2"


@pytest.mark.parametrize(
    ("line", "wrong"),
    [
        (f"ci {SECRET}", "no ':'"),
        (f"ci:{SECRET} x", "client secret"),
        (f"c i:{SECRET}", "client id"),
        (f":{SECRET}", "client id"),
        (f"ci:{SECRET}:Bad Scope!", "scope 1 of 2"),
        (f"ci:{SECRET}:DataActions.Read,Admin", "scope 2 of 2"),
        (f"ci:{SECRET[:5]}:{SECRET[5:]}", "scope 1 of 1"),
    ],
    ids=[
        "no-colon",
        "space-in-secret",
        "space-in-id",
        "no-id",
        "bad-scope",
        "unknown-scope",
        "colon-in-secret",
    ],
)
def test_a_malformed_clients_line_is_named_by_number_never_quoted(tmp_path, line, wrong):
    """Issue 20: the error said the line's text, secret included; now its number and the rule."""
    clients = tmp_path / "clients.txt"
    clients.write_text(f"# ours\nok:fine-secret\n{line}\n")
    with pytest.raises(ConfigurationError) as caught:
        clients_from_file(clients)
    message = str(caught.value)
    assert "line 3" in message
    assert wrong in message
    assert SECRET[:5] not in message
    assert SECRET[5:] not in message


def test_a_malformed_client_option_is_named_by_its_place():
    """`--client` and CXONE_EMULATOR_CLIENTS name the client's position, never its text."""
    with pytest.raises(ConfigurationError) as caught:
        clients_from_texts(["ok:fine-secret", f"ci {SECRET}"], "CXONE_EMULATOR_CLIENTS")
    assert str(caught.value).startswith("client 2 of CXONE_EMULATOR_CLIENTS: there is no ':'")
    assert SECRET not in str(caught.value)


@given(st.text(min_size=1, max_size=40).filter(lambda text: ":" not in text))
def test_no_error_repeats_any_of_the_text_it_refuses(noise):
    """Fuzz: whatever the line holds around a secret, the error quotes none of it."""
    for line in (f"ci {SECRET}{noise}", f"ci:{SECRET}:Bad{noise}", f"c{noise} :{SECRET}"):
        with pytest.raises(ConfigurationError) as caught:
            OAuthClient.parse(line)
        assert SECRET not in str(caught.value)


def test_known_scopes_are_granted_and_no_scope_means_the_default():
    """DataActions.Read and DataActions.ReadWrite are the scopes the emulator knows."""
    assert OAuthClient.parse("ci:s").scopes == DEFAULT_SCOPES
    both = OAuthClient.parse("ci:s:DataActions.Read, DataActions.ReadWrite").scopes
    assert both == {"DataActions.Read", "DataActions.ReadWrite"}


def test_the_command_refuses_a_bad_environment_client_without_its_secret():
    """`cxone emulator` with a malformed CXONE_EMULATOR_CLIENTS exits 2, the secret unsaid."""
    ran = subprocess.run(
        [sys.executable, "-m", "cxone_provider", "emulator"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"CXONE_EMULATOR_CLIENTS": f"ok:fine ci:{SECRET}:Bad!", "PATH": "/usr/bin"},
    )
    assert ran.returncode == 2
    assert "client 2 of" in ran.stderr
    assert SECRET not in ran.stderr + ran.stdout
