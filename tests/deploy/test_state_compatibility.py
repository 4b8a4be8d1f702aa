"""States written before issue 14 still work: their provider pickle names the old module path.

Every DataAction in a state records its provider as the dill pickle the program serialized.
Before the package moved into layers, that pickle named `cxone_provider.provider`; the SDK's
provider server unpickles it at each refresh and delete.
"""

from __future__ import annotations

import base64

import dill
from provider_server import inputs
from pulumi.runtime.proto import provider_pb2

from cxone_provider.deploy.properties import PROVIDER_KEY
from cxone_provider.deploy.provider import DataActionProvider
from cxone_provider.deploy.resource import DataActionArgs

# `serialize_provider(DataActionProvider())` as written by the release before the layers
# (commit 1e90158) into every DataAction of a state.
PROVIDER_BEFORE_LAYERS = (
    "gASVRAAAAAAAAACMF2N4b25lX3Byb3ZpZGVyLnByb3ZpZGVylIwSRGF0YUFjdGlvblByb3ZpZGVylJOUKYGUfZSM"
    "BmZvcm1hdJRLAXNiLg=="
)
ECHO = "function main(context) { return context.input; }"


def test_the_provider_pickled_before_the_layers_loads_as_todays_provider():
    """The old pickle names `cxone_provider.provider` and unpickles to the current class."""
    pickled = base64.b64decode(PROVIDER_BEFORE_LAYERS)
    assert b"cxone_provider.provider\x94" in pickled
    provider = dill.loads(pickled)  # noqa: S301 -- a pickle this project wrote
    assert type(provider) is DataActionProvider


def test_a_state_written_before_the_layers_refreshes_diffs_clean_and_deletes(plugin, api):
    """Refresh and delete load the old `__provider` in the SDK's own server; nothing changes.

    (The SDK's Diff unpickles the new inputs' provider, so the preview after the move diffs
    the old state with today's code: no change either.)
    """
    checked = plugin.check(
        "lead-score",
        inputs(
            "lead-score",
            DataActionArgs(
                name="lead_score",
                script=ECHO,
                test_input={"score": 1, "none": None},
                expected_output={"score": 1.0, "none": None},
            ),
        ),
    )
    assert checked.failures == []
    created = plugin.create("lead-score", checked.inputs)
    recorded = {**created.outputs, PROVIDER_KEY: PROVIDER_BEFORE_LAYERS}

    refreshed = plugin.read("lead-score", created.id, properties=recorded)
    assert (refreshed.id, refreshed.outputs) == (created.id, recorded)
    diff = plugin.diff("lead-score", created.id, refreshed.outputs, checked.inputs)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    plugin.delete("lead-score", created.id, recorded)
    assert api.find_action("lead_score") is None
