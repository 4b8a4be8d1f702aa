"""The project's Data Actions: `pulumi up` creates, tests and updates them on the tenant.

Declare each action on the catalog: its script (a file in actions/), the actions it calls
(`dependencies`) and its test, which the provider runs in the CXone sandbox after every
change. `cxone validate` checks the declarations offline; `cxone test greet_caller` runs one
action locally.
"""

from pathlib import Path

import pulumi

from cxone_provider import ActionCatalog

catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)
catalog.add(
    "greet_caller",
    script=Path("actions/greet_caller.js"),
    description="Greets a caller by name",
    test_input={"name": " ada lovelace "},
    expected_output={"greeting": "Hello, Ada Lovelace!"},
)

for name, action in catalog.register().items():
    pulumi.export(
        name, {"id": action.action_id, "version": action.version, "test_status": action.test_status}
    )
