"""The API's data, as pydantic models that enforce the contract's rules before any request.

`ActionSpec` is what is sent (POST and PUT bodies) and carries every rule of the contract's
rules table, the JavaScript check included; `Action` is what the API returns and is parsed
leniently (the server is the authority on what it stored). `validate_spec` is the boundary
where pydantic's errors become the package's `ActionValidationError`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from cxone_provider.api.errors import ActionValidationError, Problem
from cxone_provider.api.javascript import check_script

MAX_NAME_CHARS: Final = 64
NAME_PATTERN: Final = rf"^[a-zA-Z0-9_\-]{{3,{MAX_NAME_CHARS}}}$"
NAME_RULE: Final = "3 to 64 characters, each a letter, digit, underscore or hyphen"
MAX_DESCRIPTION_CHARS: Final = 1024
MAX_SCRIPT_BYTES: Final = 65536
MAX_DEPENDENCIES: Final = 1000
"""Not in the contract's table; the emulator and the client both hold actions to it."""
TriggerType = Literal["MANUAL", "SCHEDULED", "EVENT"]
TestStatus = Literal["SUCCESS", "FAILURE", "TIMEOUT"]

_NAME = re.compile(NAME_PATTERN)


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        msg = f"{value!r} is not a valid action name: use {NAME_RULE}"
        raise PydanticCustomError("action_name", msg)
    return value


ActionName = Annotated[str, AfterValidator(_check_name)]


class _ApiModel(BaseModel):
    """JSON in camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def to_api(self) -> dict[str, Any]:
        """The JSON body the API expects."""
        return self.model_dump(mode="json", by_alias=True)


# The rules of the validators live in plain functions, where a mutation tester reaches them.


def _checked_script(content: str) -> str:
    size = len(content.encode("utf-8"))
    if size > MAX_SCRIPT_BYTES:
        raise PydanticCustomError(
            "script_too_large",
            "the script is {size} bytes in UTF-8, over the limit of {limit} bytes; move "
            "shared code into a dependency action or shorten it",
            {"size": size, "limit": MAX_SCRIPT_BYTES},
        )
    error = check_script(content)
    if error is not None:
        raise PydanticCustomError(
            "script_syntax",
            "line {line}, column {column}: {message}",
            {"line": error.line, "column": error.column, "message": error.message},
        )
    return content


def _checked_dependencies(dependencies: tuple[str, ...], own_name: str | None) -> tuple[str, ...]:
    if len(dependencies) > MAX_DEPENDENCIES:
        raise PydanticCustomError(
            "too_many_dependencies",
            "{count} dependencies are listed, over the limit of {limit}; split the action",
            {"count": len(dependencies), "limit": MAX_DEPENDENCIES},
        )
    seen: set[str] = set()
    for dependency in dependencies:
        if dependency == own_name:
            msg = f"{own_name!r} lists itself in dependencies; an action cannot depend on itself"
            raise PydanticCustomError("self_dependency", msg)
        if dependency in seen:
            msg = f"{dependency!r} is listed twice in dependencies; list each name once"
            raise PydanticCustomError("duplicate_dependency", msg)
        seen.add(dependency)
    return dependencies


class Trigger(_ApiModel):
    """When the action runs; the provider deploys it, the tenant decides when to run it."""

    type: TriggerType = "MANUAL"


class StoredScript(_ApiModel):
    """A script as the API returns it: the server already checked it, so it is not re-checked."""

    language: str = "JavaScript"
    content: str


class Script(StoredScript):
    """The action's JavaScript source, checked by V8 locally before it is ever sent."""

    language: Literal["JavaScript"] = "JavaScript"

    @field_validator("content")
    @classmethod
    def _size_and_syntax(cls, content: str) -> str:
        return _checked_script(content)


class ActionSpec(_ApiModel):
    """A Data Action as sent to the API: every rule of the contract is checked here."""

    model_config = ConfigDict(extra="forbid")

    name: ActionName
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    type: Literal["SCRIPT"] = "SCRIPT"
    trigger: Trigger = Trigger()
    script: Script
    enabled: bool = True
    dependencies: tuple[ActionName, ...] = ()

    @field_validator("dependencies")
    @classmethod
    def _dependencies_are_distinct_others(
        cls, dependencies: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        return _checked_dependencies(dependencies, info.data.get("name"))


class Action(_ApiModel):
    """A Data Action as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    description: str = ""
    type: str = "SCRIPT"
    trigger: Trigger = Trigger()
    script: StoredScript
    enabled: bool = True
    dependencies: tuple[str, ...] = ()
    version: int
    created_timestamp: int
    modified_timestamp: int

    def to_spec(self) -> ActionSpec:
        """The spec this action was made from, without re-checking what the server accepted."""
        return ActionSpec.model_construct(
            name=self.name,
            description=self.description,
            trigger=self.trigger,
            script=Script.model_construct(content=self.script.content),
            enabled=self.enabled,
            dependencies=self.dependencies,
        )


class ActionPage(_ApiModel):
    """One page of `GET /actions`; `next_cursor` is None on the last page."""

    model_config = ConfigDict(extra="ignore")

    entities: tuple[Action, ...]
    next_cursor: str | None = None


class TestResult(_ApiModel):
    """The sandbox's verdict on one run of an action; a failure is data, not an HTTP error."""

    __test__ = False  # not a pytest test class, despite its name
    model_config = ConfigDict(extra="ignore")

    status: TestStatus
    output: Any = None
    error: str | None = None
    duration_ms: float = 0
    action_id: str | None = None
    version: int | None = None


class ApiErrorBody(_ApiModel):
    """The body of every non-2xx API answer."""

    model_config = ConfigDict(extra="ignore")

    error: str
    message: str = ""
    details: list[dict[str, Any]] = Field(default_factory=list)
    request_id: str | None = None


class TokenResponse(BaseModel):
    """The OAuth token endpoint's answer (snake_case on the wire, as RFC 6749 has it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_in: int = Field(gt=0)
    scope: str = ""


def validate_spec(data: dict[str, Any], *, action: str | None = None) -> ActionSpec:
    """Build an ActionSpec from API-shaped JSON, or raise one error listing every problem."""
    try:
        return ActionSpec.model_validate(data)
    except ValidationError as exc:
        name = action or (data.get("name") if isinstance(data, dict) else None)
        raise ActionValidationError(
            problems_of(exc), action=name if isinstance(name, str) else None
        ) from None


def problems_of(error: ValidationError) -> list[Problem]:
    """One Problem per pydantic error, on its dotted field path, with script positions kept."""
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "body"
        context = item.get("ctx") or {}
        if item["type"] == "script_syntax":
            problems.append(
                Problem(
                    path, str(context["message"]), line=context["line"], column=context["column"]
                )
            )
        else:
            problems.append(Problem(path, item["msg"]))
    return problems
