"""Three actions as a program of release 0.1.0 declared them: a catalog and a plain DataAction.

`lead_tier` calls `normalize_phone` through the catalog; `greeting` is a plain `DataAction`
whose test compares its output. The state was written by that release (commit 2613b48).
"""

from __future__ import annotations

from cxone_provider import ActionCatalog, DataAction, DataActionArgs

catalog = ActionCatalog()
catalog.add(
    "normalize_phone",
    script=(
        "function main(context) {\n"
        '  const digits = String(context.input.phone || "").replace(/\\D/g, "");\n'
        '  return { e164: "+" + digits };\n'
        "}\n"
    ),
    description="Normalizes a phone number",
    test_input={"phone": "(415) 555-0132"},
    expected_output={"e164": "+4155550132"},
)
catalog.add(
    "lead_tier",
    script=(
        "function main(context) {\n"
        '  const phone = context.call("normalize_phone", { phone: context.input.phone });\n'
        '  return { tier: phone.e164.length > 10 ? "gold" : "silver" };\n'
        "}\n"
    ),
    dependencies=["normalize_phone"],
    test_input={"phone": "415 555 0132"},
    expected_output={"tier": "gold"},
)
catalog.register()

DataAction(
    "greeting",
    DataActionArgs(
        name="greeting",
        script='function main(context) { return "Hello, " + context.input.who; }\n',
        test_input={"who": "world"},
        expected_output="Hello, world",
    ),
)
