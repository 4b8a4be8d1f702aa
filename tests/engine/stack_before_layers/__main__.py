"""Two actions, one calling the other, declared as programs of the release before issue 14 did.

`cxone export` of that release wrote `from cxone_provider.catalog import ActionCatalog`, so this
program keeps that import.
"""

from __future__ import annotations

from cxone_provider.catalog import ActionCatalog

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
    "caller_key",
    script=(
        "function main(context) {\n"
        '  const phone = context.call("normalize_phone", { phone: context.input.phone });\n'
        '  return { key: "phone:" + phone.e164, score: 1.5, tags: [] };\n'
        "}\n"
    ),
    dependencies=["normalize_phone"],
    test_input={"phone": "415-555-0132", "extra": None},
    expected_output={"key": "phone:+4155550132", "score": 1.5, "tags": []},
)
catalog.register()
