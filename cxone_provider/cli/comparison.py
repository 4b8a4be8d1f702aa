"""`cxone diff`: what differs between two sets of Data Actions (programs, exports, tenants).

Each side is reduced to what the API stores of each action, normalized by the provider's own
`Content` (the normalization `pulumi preview` diffs with, not a copy of it): defaults
applied, dependencies as a set. Two sides then differ exactly where a deployment of one onto
the other would change something. The order of dependencies means nothing to the API, so an
action whose dependencies differ only in order is `same`, with the order shown.

This module reads nothing (the command, `diff`, reads the sides) and renders nothing
(`comparison_output` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pulumi.runtime.rpc import contains_unknowns

from cxone_provider.api.errors import ConfigurationError, ProgramError
from cxone_provider.api.models import Action
from cxone_provider.cli.program import Declarations
from cxone_provider.deploy.properties import Content

__all__ = [
    "ActionDiff",
    "ComparedField",
    "Comparison",
    "Entry",
    "Side",
    "SideSpec",
    "Status",
    "compare",
    "parse_sides",
    "program_side",
    "tenant_side",
]

SideKind = Literal["program", "tenant"]
_STACK_PREFIX: Final = "stack:"
_URL_SCHEMES: Final = ("http://", "https://")


class ComparedField(StrEnum):
    """The fields of `Content` that are compared (the name is what pairs actions up)."""

    SCRIPT = "script"
    DEPENDENCIES = "dependencies"
    DESCRIPTION = "description"
    ENABLED = "enabled"
    TRIGGER_TYPE = "trigger_type"
    TYPE = "type"


class Status(StrEnum):
    """Where an action is, and whether its two versions differ."""

    ONLY_LEFT = "only_left"
    ONLY_RIGHT = "only_right"
    DIFFERS = "differs"
    SAME = "same"


# --- the sides -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideSpec:
    """One side as the command line names it: a program folder, a stack's tenant, or a URL."""

    kind: Literal["program", "stack", "url"]
    value: str


def parse_sides(arguments: Sequence[str], stacks: Sequence[str]) -> tuple[SideSpec, SideSpec]:
    """Left and right: the positional arguments, then each `--stack`, in order.

    A lone side is compared with the program (`SideSpec("program", "")`: the command's
    `--program` folder), which comes first: `cxone diff --stack prod` is the program's drift.
    """
    given = [_side_of(argument) for argument in arguments]
    given += [SideSpec("stack", _stack_name(stack)) for stack in stacks]
    if not given:
        msg = (
            "nothing to compare: give a side, e.g. `cxone diff --stack prod` (the program against "
            "prod's tenant) or `cxone diff --stack staging --stack prod` (two tenants)"
        )
        raise ConfigurationError(msg)
    if len(given) > 2:  # noqa: PLR2004 -- a diff has two sides
        shown = ", ".join(f"{spec.kind} {spec.value}".strip() for spec in given)
        msg = f"{len(given)} sides given ({shown}); a diff compares two: give at most two"
        raise ConfigurationError(msg)
    if len(given) == 1:
        return SideSpec("program", ""), given[0]
    return given[0], given[1]


def _side_of(argument: str) -> SideSpec:
    if argument.startswith(_STACK_PREFIX):
        return SideSpec("stack", _stack_name(argument.removeprefix(_STACK_PREFIX)))
    if argument.lower().startswith(_URL_SCHEMES):
        return SideSpec("url", argument)
    return SideSpec("program", argument)


def _stack_name(name: str) -> str:
    if not name.strip():
        msg = "a stack side needs the stack's name: `--stack prod` or `stack:prod`"
        raise ConfigurationError(msg)
    return name.strip()


@dataclass(frozen=True, slots=True)
class Entry:
    """One action of one side: its normalized content, its dependencies' order and its id.

    `unknown` are the fields a program leaves to values known only after a deployment
    (Pulumi Outputs); they are not compared.
    """

    content: Content
    dependency_order: tuple[str, ...]
    unknown: frozenset[ComparedField] = frozenset()
    action_id: str | None = None
    version: int | None = None

    def value(self, field: ComparedField) -> Any:
        """The field's value: dependencies in this side's order."""
        if field is ComparedField.DEPENDENCIES:
            return list(self.dependency_order)
        return getattr(self.content, field.value)

    def to_json(self) -> dict[str, Any]:
        """The content in the documented `--json` shape (unknown fields are null)."""
        document: dict[str, Any] = {"id": self.action_id, "version": self.version}
        for field in ComparedField:
            document[field.value] = None if field in self.unknown else self.value(field)
        return document


@dataclass(frozen=True, slots=True)
class Side:
    """One side's actions by name, and how to name the side."""

    kind: SideKind
    name: str
    """Short, for diff headers: the stack's name, `program`, or the URL's host."""
    label: str
    source: str
    """The tenant's base URL, or the program's `__main__.py` as shown."""
    stack: str | None
    actions: Mapping[str, Entry]
    unmanaged: frozenset[str] = frozenset()
    """Names a program declares as the tenant's own (include_tenant_actions): not its drift."""
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The side in the documented `--json` shape."""
        return {
            "kind": self.kind,
            "name": self.name,
            "label": self.label,
            "source": self.source,
            "stack": self.stack,
            "actions": len(self.actions),
            "unmanaged": sorted(self.unmanaged),
            "notes": list(self.notes),
        }


def tenant_side(actions: Iterable[Action], *, base_url: str, stack: str | None) -> Side:
    """A tenant's actions as listed by the API."""
    entries = {
        action.name: Entry(
            Content.of_action(action),
            tuple(action.dependencies),
            action_id=action.id,
            version=action.version,
        )
        for action in actions
    }
    if stack is not None:
        return Side(
            "tenant", stack, f"tenant of stack {stack} ({base_url})", base_url, stack, entries
        )
    host = urlsplit(base_url).netloc or base_url
    return Side("tenant", host, f"tenant {base_url}", base_url, None, entries)


def program_side(declarations: Declarations, *, main: str) -> Side:
    """What a program (or a `cxone export` folder) declares, as `pulumi up` would send it.

    `main` is the program's file as it is shown. A declaration whose name is not known before
    a deployment cannot be paired and is left out with a note, as is a repeated name (the
    first declaration counts, as for `cxone test`). A program that raised (other than its
    catalog's own check, which comes after every declaration) declared only part of its
    actions: ProgramError.
    """
    entries: dict[str, Entry] = {}
    notes: list[str] = []
    for action in declarations.actions:
        inputs = action.inputs
        if contains_unknowns(inputs.get("name")) or not isinstance(inputs.get("name"), str):
            notes.append(
                f"resource {action.resource!r}: its name is known only after a deployment, so "
                "it is not compared"
            )
            continue
        if action.name in entries:
            notes.append(
                f"{action.name!r} is declared more than once; the first declaration is compared "
                "(`cxone validate` reports the duplicate)"
            )
            continue
        unknown = frozenset(
            field for field in ComparedField if contains_unknowns(inputs.get(field.value))
        )
        known = {key: value for key, value in inputs.items() if not contains_unknowns(value)}
        dependencies = known.get(ComparedField.DEPENDENCIES.value) or ()
        entries[action.name] = Entry(
            Content.of_properties(known),
            tuple(str(name) for name in dependencies),
            unknown=unknown,
        )
    failure = declarations.failure
    if failure is not None and not failure.repeats_a_check:
        msg = (
            f"{failure.describe()}; what it declares is incomplete, so it is not compared: fix "
            "the program (`cxone validate` shows every problem)"
        )
        raise ProgramError(msg)
    if failure is not None:
        notes.append(
            f"the program's own check failed ({failure.exception}); its declarations are "
            "compared as they are (`cxone validate` shows every problem)"
        )
    stack = declarations.stack.name if declarations.stack.file is not None else None
    label = f"program {main}" + (f" (stack {stack})" if stack is not None else "")
    return Side(
        "program",
        "program",
        label,
        main,
        stack,
        entries,
        unmanaged=frozenset(declarations.tenant_actions),
        notes=tuple(notes),
    )


# --- the comparison ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionDiff:
    """One action compared: where it is, and which compared fields differ."""

    name: str
    status: Status
    fields: tuple[ComparedField, ...]
    order_only: bool
    """Same dependencies in another order: shown, not a difference (the API ignores order)."""
    unknown: tuple[ComparedField, ...]
    left: Entry | None
    right: Entry | None

    @property
    def shown(self) -> bool:
        """Whether there is anything to show: a difference, or a reordering."""
        return self.status is not Status.SAME or self.order_only


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two sides compared, action by action (sorted by name)."""

    left: Side
    right: Side
    actions: tuple[ActionDiff, ...]
    ignored: tuple[ComparedField, ...]
    only: tuple[str, ...] | None
    unmatched: tuple[str, ...]
    """`--only` names or patterns that match no action on either side."""
    unmanaged: tuple[str, ...]
    """Actions only on a tenant that the program declares as the tenant's own: not compared."""

    def count(self, status: Status) -> int:
        """How many actions have this status."""
        return sum(1 for action in self.actions if action.status is status)

    @property
    def differences(self) -> int:
        """Actions only on one side or differing: what makes the exit code 1."""
        return sum(1 for action in self.actions if action.status is not Status.SAME)

    @property
    def names(self) -> tuple[str, str]:
        """The sides' short names for diff headers, `left` and `right` when they coincide."""
        if self.left.name == self.right.name:
            return "left", "right"
        return self.left.name, self.right.name

    def status_text(self, action: ActionDiff) -> str:
        """How a person reads the status: `only in prod`, `differs`, `same`."""
        left, right = self.names
        if action.status is Status.ONLY_LEFT:
            return f"only in {left}"
        if action.status is Status.ONLY_RIGHT:
            return f"only in {right}"
        if action.order_only:
            return f"{action.status.value} (dependency order differs)"
        return action.status.value

    def summary(self) -> str:
        """One sentence: the counts of each status."""
        left, right = self.names
        counts = (
            f"{self.count(Status.ONLY_LEFT)} only in {left}, "
            f"{self.count(Status.ONLY_RIGHT)} only in {right}, "
            f"{self.count(Status.DIFFERS)} differ, {self.count(Status.SAME)} same"
        )
        if self.differences == 0:
            return f"no differences ({counts})"
        plural = "s" * (self.differences != 1)
        return f"{self.differences} difference{plural}: {counts}"


def compare(
    left: Side,
    right: Side,
    *,
    ignore: Iterable[ComparedField] = (),
    only: Sequence[str] | None = None,
) -> Comparison:
    """Compare two sides: every action of either, paired by name.

    `ignore` fields are not compared; `only` keeps the actions whose name equals one of its
    items or matches it as a shell pattern (`crm_*`).
    """
    ignored = tuple(field for field in ComparedField if field in set(ignore))
    names = set(left.actions) | set(right.actions)
    unmanaged = {
        name
        for name in names
        if (name in left.unmanaged and name not in left.actions and left.kind == "program")
        or (name in right.unmanaged and name not in right.actions and right.kind == "program")
    }
    names -= unmanaged
    unmatched: tuple[str, ...] = ()
    if only is not None:
        unmatched = tuple(p for p in only if not any(fnmatchcase(n, p) for n in names))
        names = {name for name in names if any(fnmatchcase(name, p) for p in only)}
    compared = [field for field in ComparedField if field not in ignored]
    actions = tuple(
        _compare_action(name, left.actions.get(name), right.actions.get(name), compared)
        for name in sorted(names)
    )
    return Comparison(
        left=left,
        right=right,
        actions=actions,
        ignored=ignored,
        only=tuple(only) if only is not None else None,
        unmatched=unmatched,
        unmanaged=tuple(sorted(unmanaged)),
    )


def _compare_action(
    name: str, left: Entry | None, right: Entry | None, compared: Sequence[ComparedField]
) -> ActionDiff:
    if left is None or right is None:
        status = Status.ONLY_RIGHT if left is None else Status.ONLY_LEFT
        return ActionDiff(name, status, (), order_only=False, unknown=(), left=left, right=right)
    unknown = tuple(field for field in compared if field in left.unknown | right.unknown)
    fields = tuple(
        field
        for field in compared
        if field not in unknown
        and getattr(left.content, field.value) != getattr(right.content, field.value)
    )
    order_only = (
        ComparedField.DEPENDENCIES in compared
        and ComparedField.DEPENDENCIES not in fields
        and ComparedField.DEPENDENCIES not in unknown
        and left.dependency_order != right.dependency_order
    )
    status = Status.DIFFERS if fields else Status.SAME
    return ActionDiff(name, status, fields, order_only, unknown, left, right)
