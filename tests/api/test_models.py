"""The contract's rules table, enforced by the models before any request, at every boundary."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cxone_provider import ActionSpec, ActionValidationError, validate_spec
from cxone_provider.api.models import MAX_DEPENDENCIES, MAX_SCRIPT_BYTES, Action

VALID_SCRIPT = "function main(context) { return context.input; }"


def spec_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "lead_score",
        "description": "Scores a lead",
        "type": "SCRIPT",
        "trigger": {"type": "MANUAL"},
        "script": {"language": "JavaScript", "content": VALID_SCRIPT},
        "enabled": True,
        "dependencies": [],
    }
    data.update(overrides)
    return data


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ActionValidationError) as caught:
        validate_spec(data)
    return {problem.field: problem.message for problem in caught.value.problems}


def script_of_bytes(size: int) -> str:
    """A valid script of exactly `size` UTF-8 bytes, padded with two-byte characters."""
    head = "function main(context) { return 1; }\n//"
    room = size - len(head.encode())
    return head + "é" * (room // 2) + "a" * (room % 2)


@pytest.mark.parametrize("name", ["abc", "a" * 64, "A-b_9", "___", "---"])
def test_names_of_3_to_64_allowed_characters_are_valid(name):
    """Names at both length boundaries and with every allowed character class pass."""
    assert validate_spec(spec_data(name=name)).name == name


@pytest.mark.parametrize("name", ["ab", "a" * 65, "has space", "dot.ted", "émile", "", "a/b"])
def test_names_outside_the_pattern_are_rejected_with_the_rule(name):
    """Names of 2 or 65 characters, or with other characters, fail on `name` and say the rule."""
    assert "3 to 64 characters" in problems(spec_data(name=name))["name"]


def test_description_of_1024_characters_is_valid_and_1025_is_not():
    """The description limit counts characters, not bytes."""
    assert validate_spec(spec_data(description="é" * 1024)).description == "é" * 1024
    assert "1024" in problems(spec_data(description="é" * 1025))["description"]


def test_type_must_be_script():
    """The only action type is SCRIPT."""
    assert "type" in problems(spec_data(type="HTTP"))


@pytest.mark.parametrize("trigger", ["MANUAL", "SCHEDULED", "EVENT"])
def test_each_trigger_type_of_the_contract_is_valid(trigger):
    """MANUAL, SCHEDULED and EVENT are the three trigger types."""
    assert validate_spec(spec_data(trigger={"type": trigger})).trigger.type == trigger


def test_unknown_trigger_type_is_rejected():
    """Another trigger type fails on trigger.type."""
    assert "trigger.type" in problems(spec_data(trigger={"type": "HOURLY"}))


def test_language_must_be_javascript():
    """Scripts are JavaScript only."""
    data = spec_data(script={"language": "Python", "content": VALID_SCRIPT})
    assert "script.language" in problems(data)


def test_script_of_65536_utf8_bytes_is_valid():
    """The size limit is inclusive and counted in UTF-8 bytes."""
    script = script_of_bytes(MAX_SCRIPT_BYTES)
    assert len(script.encode()) == MAX_SCRIPT_BYTES
    assert len(script) < MAX_SCRIPT_BYTES  # multi-byte characters: fewer characters than bytes
    assert validate_spec(spec_data(script={"content": script})).script.content == script


def test_script_of_65537_utf8_bytes_is_rejected_with_its_size():
    """One byte over the limit fails on script.content and says the size found."""
    script = script_of_bytes(MAX_SCRIPT_BYTES + 1)
    assert problems(spec_data(script={"content": script}))["script.content"] == (
        "the script is 65537 bytes in UTF-8, over the limit of 65536 bytes; move shared code "
        "into a dependency action or shorten it"
    )


def test_syntax_error_is_reported_with_line_and_column():
    """A broken script fails with the line and column V8 gives, counted from 1."""
    script = "function main(context) {\n  const x = 1;\n  return x +;\n}\n"
    with pytest.raises(ActionValidationError) as caught:
        validate_spec(spec_data(script={"content": script}))
    (problem,) = caught.value.problems
    assert (problem.field, problem.line, problem.column) == ("script.content", 3, 13)
    assert problem.message == "SyntaxError: Unexpected token ';'"
    assert str(caught.value) == (
        "Data Action 'lead_score' is invalid (1 problem(s)):\n"
        "  - script.content (line 3, column 13): SyntaxError: Unexpected token ';'"
    )
    with pytest.raises(ValidationError) as raw:
        ActionSpec.model_validate(spec_data(script={"content": script}))
    assert raw.value.errors()[0]["msg"] == "line 3, column 13: SyntaxError: Unexpected token ';'"


def test_unclosed_block_is_reported_on_the_last_line():
    """A missing closing brace points at the end of the script, not past it."""
    script = "function main(context) {\n  return 1;\n"
    with pytest.raises(ActionValidationError) as caught:
        validate_spec(spec_data(script={"content": script}))
    assert caught.value.problems[0].line == 3


def test_script_without_main_is_rejected():
    """A valid script that defines no main(context) function fails and shows an example."""
    message = problems(spec_data(script={"content": "function handler(c) { return 1; }"}))
    assert "main(context)" in message["script.content"]


def test_main_may_be_an_arrow_function():
    """Any top-level binding named main that is a function will do."""
    script = "const main = (context) => context.input;"
    assert validate_spec(spec_data(script={"content": script})).script.content == script


def test_dependencies_must_be_valid_names():
    """Each dependency follows the name rule, reported at its position."""
    assert "dependencies.1" in problems(spec_data(dependencies=["base_transform", "x"]))


def test_dependencies_must_be_unique():
    """A dependency listed twice is rejected on `dependencies`."""
    message = problems(spec_data(dependencies=["base_transform", "base_transform"]))
    assert message == {
        "dependencies": "'base_transform' is listed twice in dependencies; list each name once"
    }


def test_an_action_cannot_depend_on_itself():
    """The action's own name in its dependencies is rejected."""
    assert problems(spec_data(dependencies=["lead_score"])) == {
        "dependencies": (
            "'lead_score' lists itself in dependencies; an action cannot depend on itself"
        )
    }


def test_every_problem_is_reported_at_once():
    """Several broken rules give one error listing each of them."""
    data = spec_data(name="x", description="d" * 2000, script={"content": "function ("})
    assert set(problems(data)) == {"name", "description", "script.content"}


def test_unknown_fields_are_rejected():
    """A misspelt field is an error rather than silently ignored."""
    assert "enabeld" in problems(spec_data(enabeld=False))


def test_spec_serializes_to_the_api_body():
    """to_api gives the contract's camelCase JSON with defaults filled in."""
    body = ActionSpec.model_validate({"name": "abc", "script": {"content": VALID_SCRIPT}}).to_api()
    assert body == {
        "name": "abc",
        "description": "",
        "type": "SCRIPT",
        "trigger": {"type": "MANUAL"},
        "script": {"language": "JavaScript", "content": VALID_SCRIPT},
        "enabled": True,
        "dependencies": [],
    }


def test_returned_action_parses_camel_case_and_gives_back_its_spec():
    """The API's answer parses, and its spec equals the one that was sent."""
    sent = validate_spec(spec_data(dependencies=["base_transform"]))
    answer = {
        **sent.to_api(),
        "id": "a1",
        "version": 2,
        "createdTimestamp": 1,
        "modifiedTimestamp": 2,
        "somethingNew": True,
    }
    action = Action.model_validate(answer)
    assert (action.version, action.created_timestamp) == (2, 1)
    assert action.to_spec().to_api() == sent.to_api()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=70) | json_values,
        "description": st.text(max_size=1100) | json_values,
        "type": st.sampled_from(["SCRIPT", "OTHER"]) | json_values,
        "trigger": st.fixed_dictionaries({"type": st.text(max_size=10)}) | json_values,
        "script": st.fixed_dictionaries(
            {"content": st.text(max_size=200) | st.just(VALID_SCRIPT)},
            optional={"language": st.sampled_from(["JavaScript", "TypeScript"])},
        )
        | json_values,
        "enabled": json_values,
        "dependencies": st.lists(st.text(max_size=70), max_size=4) | json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=fields | json_values)
def test_validation_never_fails_with_anything_but_its_own_error(data):
    """No input, however malformed, crashes validation with a foreign exception."""
    try:
        spec = validate_spec(data)
    except ActionValidationError as error:
        found = error.problems
    else:
        found = []
        assert validate_spec(spec.to_api()) == spec
    assert all(problem.field and problem.message for problem in found)


def test_1000_dependencies_are_valid_and_1001_are_not():
    """Issue 11, case 9: the list is bounded, with the limit and the fix in the message."""
    names = [f"dep_{index}" for index in range(MAX_DEPENDENCIES + 1)]
    assert len(validate_spec(spec_data(dependencies=names[:-1])).dependencies) == 1000
    assert problems(spec_data(dependencies=names)) == {
        "dependencies": "1001 dependencies are listed, over the limit of 1000; split the action"
    }


def test_a_name_with_a_trailing_newline_is_rejected():
    """The whole name must match the pattern: `$` must not let a final newline through."""
    assert problems(spec_data(name="abc\n")) == {
        "name": "'abc\\n' is not a valid action name: use 3 to 64 characters, "
        "each a letter, digit, underscore or hyphen"
    }


def test_returned_action_serializes_in_camel_case():
    """to_api of a returned action gives the contract's camelCase keys, not Python's names."""
    action = Action.model_validate(
        {
            "id": "a1",
            "name": "abc",
            "script": {"content": VALID_SCRIPT},
            "version": 1,
            "createdTimestamp": 5,
            "modifiedTimestamp": 6,
        }
    )
    assert (action.to_api()["createdTimestamp"], action.to_api()["modifiedTimestamp"]) == (5, 6)
    assert "created_timestamp" not in action.to_api()


def test_a_returned_action_keeps_its_trigger_and_enabled_in_its_spec():
    """to_spec carries a non-default trigger and a disabled flag over, not the defaults."""
    action = Action.model_validate(
        {
            "id": "a1",
            "name": "abc",
            "trigger": {"type": "SCHEDULED"},
            "enabled": False,
            "script": {"content": VALID_SCRIPT},
            "version": 1,
            "createdTimestamp": 5,
            "modifiedTimestamp": 6,
        }
    )
    spec = action.to_spec()
    assert (spec.trigger.type, spec.enabled, spec.type, spec.script.language) == (
        "SCHEDULED",
        False,
        "SCRIPT",
        "JavaScript",
    )


@pytest.mark.parametrize(
    ("overrides", "error_type"),
    [
        ({"name": "x"}, "action_name"),
        ({"script": {"content": script_of_bytes(MAX_SCRIPT_BYTES + 1)}}, "script_too_large"),
        ({"script": {"content": "function main(c) { return c +; }"}}, "script_syntax"),
        ({"dependencies": [f"dep_{index}" for index in range(1001)]}, "too_many_dependencies"),
        ({"dependencies": ["lead_score"]}, "self_dependency"),
        ({"dependencies": ["crm_base", "crm_base"]}, "duplicate_dependency"),
    ],
)
def test_each_rule_has_its_own_error_type_for_programs(overrides, error_type):
    """Code that builds an ActionSpec itself can tell the broken rule by pydantic's error type."""
    with pytest.raises(ValidationError) as caught:
        ActionSpec.model_validate(spec_data(**overrides))
    assert [error["type"] for error in caught.value.errors()] == [error_type]


def test_the_error_names_the_action_given_or_else_the_one_in_the_body():
    """`action=` wins over the body's name; a body whose name is not text names no action."""
    broken = spec_data(description="x" * 1025)
    with pytest.raises(ActionValidationError) as from_body:
        validate_spec(broken)
    with pytest.raises(ActionValidationError) as given:
        validate_spec(broken, action="declared_name")
    with pytest.raises(ActionValidationError) as unnamed:
        validate_spec({**broken, "name": 42})
    assert (from_body.value.action, given.value.action, unnamed.value.action) == (
        "lead_score",
        "declared_name",
        None,
    )
    assert str(given.value).startswith("Data Action 'declared_name' is invalid (1 problem(s))")


def test_a_body_that_is_not_an_object_is_one_problem_on_body():
    """JSON that is not an object at all is reported on `body`, naming no action."""
    with pytest.raises(ActionValidationError) as caught:
        validate_spec(["not", "an", "object"])  # type: ignore[arg-type]
    assert caught.value.action is None
    assert [(problem.field, problem.message) for problem in caught.value.problems] == [
        ("body", "Input should be a valid dictionary or instance of ActionSpec")
    ]
