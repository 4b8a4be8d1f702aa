"""Provider settings: stack config first, environment fallbacks, one error naming every fix."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.deploy.config import load_settings, plaintext_secrets
from cxone_provider.deploy.settings import DEFAULT_OPERATION_TIMEOUT_S

SECRET = "s3cr3t-value-never-shown"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
COMPLETE = {
    "cxone:baseUrl": "http://127.0.0.1:8765/",
    "cxone:clientId": "demo",
    "cxone:clientSecret": SECRET,
}


def test_complete_config_gives_settings_with_defaults():
    """Base URL, id and secret suffice; the rest has documented defaults."""
    settings = load_settings(COMPLETE, {})
    assert settings.connection.base_url == "http://127.0.0.1:8765"
    assert settings.connection.client_id == "demo"
    assert settings.connection.client_secret == SECRET
    assert settings.webhook is None
    assert settings.audit_log is None
    assert settings.on_test_failure == "fail"
    assert settings.operation_timeout_s == DEFAULT_OPERATION_TIMEOUT_S


def test_missing_settings_give_one_error_listing_each_with_its_fix():
    """Nothing configured: one error names all three keys, the commands and the env vars."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({}, {})
    text = str(caught.value)
    assert "3 problem(s)" in text
    for key in ("cxone:baseUrl", "cxone:clientId", "cxone:clientSecret"):
        assert f"missing {key}" in text
    assert "pulumi config set cxone:baseUrl https://<site>.api.nicecxone.com" in text
    assert "pulumi config set cxone:site <site>" in text
    assert "pulumi config set cxone:clientId <client id>" in text
    assert "pulumi config set --secret cxone:clientSecret <client secret>" in text
    for env in ("CXONE_BASE_URL", "CXONE_SITE", "CXONE_CLIENT_ID", "CXONE_CLIENT_SECRET"):
        assert env in text


def test_only_the_missing_setting_is_listed():
    """With id and URL set, the error is about the secret alone."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({k: v for k, v in COMPLETE.items() if k != "cxone:clientSecret"}, {})
    text = str(caught.value)
    assert "1 problem(s)" in text
    assert "missing cxone:clientSecret" in text
    assert "cxone:clientId <client id>" not in text


def test_site_gives_the_tenant_url():
    """cxone:site expands to https://{site}.api.nicecxone.com."""
    config = {"cxone:site": "acme-dev", "cxone:clientId": "id", "cxone:clientSecret": SECRET}
    assert load_settings(config, {}).connection.base_url == "https://acme-dev.api.nicecxone.com"


def test_environment_fills_what_config_lacks_and_config_wins():
    """Env vars are fallbacks: used when the key is absent, ignored when it is set."""
    environ = {
        "CXONE_SITE": "from-env",
        "CXONE_CLIENT_ID": "env-id",
        "CXONE_CLIENT_SECRET": SECRET,
        "WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "CXONE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    settings = load_settings({"cxone:clientId": "config-id"}, environ)
    assert settings.connection.base_url == "https://from-env.api.nicecxone.com"
    assert settings.connection.client_id == "config-id"
    assert settings.connection.client_secret == SECRET
    assert settings.webhook is not None
    assert settings.webhook.url == "http://127.0.0.1:9/hook"
    assert settings.webhook.secret == WEBHOOK_SECRET


def test_base_url_from_environment_beats_site_from_environment():
    """CXONE_BASE_URL is more specific than CXONE_SITE."""
    environ = {"CXONE_BASE_URL": "http://127.0.0.1:1", "CXONE_SITE": "acme"}
    settings = load_settings({"cxone:clientId": "i", "cxone:clientSecret": SECRET}, environ)
    assert settings.connection.base_url == "http://127.0.0.1:1"


def test_config_function_lookup_works_like_pulumi_config_get():
    """A callable lookup (pulumi.dynamic.Config.get) is accepted as well as a mapping."""
    assert load_settings(COMPLETE.get, {}).connection.client_id == "demo"


def test_malformed_values_are_reported_together_without_secrets():
    """Bad URL, policy, timeout and webhook secret: four problems, no secret value shown."""
    config = {
        **COMPLETE,
        "cxone:baseUrl": "ftp://example.com",
        "cxone:onTestFailure": "maybe",
        "cxone:operationTimeout": "-3",
        "cxone:webhookUrl": "http://127.0.0.1:9/hook",
        "cxone:webhookSecret": "whsec_" + SECRET,
    }
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, {})
    text = str(caught.value)
    assert "4 problem(s)" in text
    assert "'ftp://example.com'" in text
    assert "'maybe': use 'fail' or 'warn'" in text
    assert "cxone:operationTimeout is '-3'" in text
    assert "not a Standard Webhooks secret" in text
    assert SECRET not in text


def test_audit_log_directory_must_exist(tmp_path):
    """An audit log in a missing directory is a configuration error, found before any change."""
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings({**COMPLETE, "cxone:auditLog": str(tmp_path / "nope" / "a.jsonl")}, {})
    log = tmp_path / "audit.jsonl"
    assert load_settings({**COMPLETE, "cxone:auditLog": str(log)}, {}).audit_log == log


def test_policy_and_timeout_are_parsed():
    """Config values arrive as strings: 'WARN' is the warn policy, '12.5' is 12.5 s."""
    settings = load_settings(
        {**COMPLETE, "cxone:onTestFailure": "WARN", "cxone:operationTimeout": "12.5"}, {}
    )
    assert settings.on_test_failure == "warn"
    assert settings.operation_timeout_s == 12.5


def test_settings_repr_hides_secrets():
    """Reprs (which end up in logs and tracebacks) never show the client or webhook secret."""
    settings = load_settings(
        {**COMPLETE, "cxone:webhookUrl": "http://h/x", "cxone:webhookSecret": WEBHOOK_SECRET}, {}
    )
    assert SECRET not in repr(settings)
    assert WEBHOOK_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cxone:webhookUrl", "https://hooks.example.com/cxone?token=t0k3n"),
        ("cxone:webhookUrl", "https://user:pa55@hooks.example.com/cxone"),
        ("cxone:webhookSecret", "whsec_dGhpcyBpcyBub3QgYSByZWFsIGtleSBhdCBhbGw="),
        ("cxone:clientSecret", "s3cr3t"),
        ("aws:secretKey", "AKIA0000"),
        ("db:password", "hunter2"),
        ("slack:apiToken", "xoxb-1"),
    ],
)
def test_values_that_look_secret_in_plain_text_are_flagged_without_their_value(key, value):
    """Issue 10: the state records plain-text config; the message names the key, not the value."""
    [problem] = plaintext_secrets({"cxone:baseUrl": "https://acme.api.nicecxone.com", key: value})
    assert problem.key == key
    assert f"pulumi config set --secret {key}" in problem.message
    assert value not in problem.message


def test_plain_settings_and_a_local_emulators_secret_are_not_flagged():
    """Site, client id, policy, a plain webhook URL; the secret of an emulator on loopback."""
    config = {
        "cxone:baseUrl": "http://127.0.0.1:8765",
        "cxone:clientId": "demo",
        "cxone:clientSecret": "demo-secret",
        "cxone:onTestFailure": "fail",
        "cxone:webhookUrl": "https://hooks.example.com/cxone",
    }
    assert plaintext_secrets(config) == []


def test_a_base_url_with_credentials_keeps_neither_them_nor_its_query():
    """Issue 11, case 13: the connection's URL has no user:password@ and no query."""
    given = {**COMPLETE, "cxone:baseUrl": "https://robot:pa55word@acme.example/api/?k=v"}
    assert load_settings(given, {}).connection.base_url == "https://acme.example/api"


def test_a_bad_url_is_refused_without_showing_its_secrets():
    """The error quotes the URL, but not the password, the query or a webhook's path."""
    given = {
        **COMPLETE,
        "cxone:baseUrl": "ftp://robot:pa55word@acme.example/?k=hidden",
        "cxone:webhookUrl": "hooks://hooks.example/T000/B000/XXXXtoken",
    }
    with pytest.raises(ConfigurationError) as raised:
        load_settings(given, {})
    for secret in ("pa55word", "hidden", "XXXXtoken"):
        assert secret not in str(raised.value)
    assert "ftp://acme.example/" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.api.nicecxone.com",
        "http://10.0.0.5:8765",
        "http://user:pw@acme.example",
        "HTTP://acme.example",
        "http://127.0.0.1.nip.io",
    ],
)
def test_a_base_url_over_plain_http_beyond_this_machine_is_refused(url):
    """Issue 20: the client secret went out in clear text; https is named as the fix."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**COMPLETE, "cxone:baseUrl": url}, {})
    assert "cxone:baseUrl" in str(caught.value)
    assert "use https://" in str(caught.value)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:8765", "http://127.8.9.1"]
)
def test_plain_http_to_loopback_stays_allowed_for_the_emulator(url):
    """The emulator on this machine is reached over http."""
    assert load_settings({**COMPLETE, "cxone:baseUrl": url}, {}).connection.base_url == url


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("app:database", '{"host": "db", "password": "hunter2"}', "app:database (at password)"),
        ("app:passphrase", "correct horse", "app:passphrase"),
        ("app:dbPwd", "hunter2", "app:dbPwd"),
        ("app:signing_key", "k3y", "app:signing_key"),
        ("app:pass", "hunter2", "app:pass"),
        ("app:nested", '{"a": [{"b": {"apiToken": "t0k"}}]}', "app:nested (at a[0].b.apiToken)"),
        ("app:hooks", '["https://u:hunter2@hooks.example/x"]', "app:hooks (at [0])"),
        (
            "app:svc",
            '{"credentials": {"user": "x", "pass": "hunter2"}}',
            "app:svc (at credentials)",
        ),
        ("app:tls", '{"privateKey": "-----BEGIN"}', "app:tls (at privateKey)"),
    ],
    ids=[
        "nested",
        "passphrase",
        "pwd",
        "key",
        "pass",
        "deep",
        "url-in-list",
        "credential",
        "private",
    ],
)
def test_secret_looking_values_inside_structured_config_are_flagged(key, value, where):
    """Issue 20: only top-level key names were tested; structured values are walked now."""
    [problem] = plaintext_secrets({"cxone:baseUrl": "https://acme.api.nicecxone.com", key: value})
    assert problem.key == key
    assert problem.message.startswith(f"{where} looks secret")
    assert "hunter2" not in problem.message
    assert "t0k" not in problem.message


def test_structured_config_without_secrets_is_not_flagged():
    """Plain structured values, and secret-looking keys without any text, pass."""
    config = {
        "app:database": '{"host": "db", "port": 5432, "tags": ["a", "b"]}',
        "app:features": '{"useToken": true, "apiKey": null, "passwords": []}',
    }
    assert plaintext_secrets(config) == []


_PLAIN_KEYS = st.sampled_from(["host", "port", "name", "region", "items", "a"])
_SECRET_KEYS = st.sampled_from(
    [
        "password",
        "dbPwd",
        "pass",
        "apiKey",
        "token",
        "passphrase",
        "private_key",
        "clientSecret",
        "credential",
        "signingKey",
    ]
)


@given(
    path=st.lists(st.one_of(_PLAIN_KEYS, st.integers(0, 2)), max_size=4),
    secret_key=_SECRET_KEYS,
    value=st.text(alphabet="0123456789#%!~", min_size=6, max_size=20),
)
def test_a_secret_at_any_depth_is_flagged_and_never_shown(path, secret_key, value):
    """Fuzz: wherever a secret-looking key sits in a structured value, it is found, unshown."""
    document: object = {secret_key: value}
    for step in reversed(path):
        document = [None] * step + [document] if isinstance(step, int) else {step: document}
    text = json.dumps({"wrapper": document})
    [problem] = plaintext_secrets({"app:settings": text})
    assert problem.key == "app:settings"
    assert value not in problem.message
