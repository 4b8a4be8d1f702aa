"""`ActionCatalog`: collect a program's Data Actions, check them as one graph, then register them.

    catalog = ActionCatalog(base_dir=Path(__file__).resolve().parent)
    catalog.add("normalize_phone", script=Path("actions/normalize_phone.js"))
    catalog.add("lead_score", script=Path("actions/lead_score.js"),
                dependencies=["normalize_phone"], test_input={...}, expected_output={...})
    actions = catalog.register()   # {name: DataAction}, dependencies first

`register` validates the whole graph before it registers anything, so a cycle or an unknown
dependency fails the program with every problem listed and no resource half-declared. Each
resource gets `depends_on` = the resources of its declared dependencies (plus any hand-written
ordering), so Pulumi creates dependencies first and deletes dependents first, and names each
managed dependency through that resource's `name` output, so that the engine knows an action
must be replaced with the actions it calls (a delete-before-replace cascades only through such
property dependencies). `validate`
runs the same checks without Pulumi, for tools that only inspect a program's declarations;
`collecting_catalogs` lets such tools (`cxone validate`) see every catalog a program registers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, overload

import pulumi

from cxone_provider.api.client import CxoneClient
from cxone_provider.api.errors import ConfigurationError, DependencyGraphError
from cxone_provider.api.textfiles import read_utf8
from cxone_provider.deploy.graph import (
    Declaration,
    ValidatedGraph,
    tenant_dependencies,
    validate_graph,
)
from cxone_provider.deploy.resource import DEFAULT_TEST_INPUT, DataAction, DataActionArgs

__all__ = ["ActionCatalog", "collecting_catalogs"]

_COLLECTORS: list[list[ActionCatalog]] = []


@contextmanager
def collecting_catalogs() -> Iterator[list[ActionCatalog]]:
    """Every catalog whose `register()` is called in the block, taken before it validates.

    For tools that run a program without deploying it (`cxone validate`): they check what the
    program declared even when `register` then fails on the graph.
    """
    collected: list[ActionCatalog] = []
    _COLLECTORS.append(collected)
    try:
        yield collected
    finally:
        _COLLECTORS.remove(collected)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One declared action: its arguments and how it must be ordered."""

    args: DataActionArgs
    dependencies: Sequence[str]
    depends_on: tuple[str, ...]
    opts: pulumi.ResourceOptions | None
    script_file: Path | None = None


class ActionCatalog:
    """The Data Actions of one program, registered together in dependency order.

    `base_dir` is where relative script paths are read from: pass the program's folder
    (`Path(__file__).resolve().parent`) so the program works whatever the working directory.
    """

    def __init__(self, *, base_dir: str | Path = ".") -> None:
        self._base_dir = Path(base_dir)
        self._entries: list[_Entry] = []
        self._tenant_actions: dict[str, tuple[str, ...]] = {}
        self._registered = False

    @overload
    def add(
        self,
        action: DataActionArgs,
        /,
        *,
        depends_on: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> DataActionArgs: ...

    @overload
    def add(
        self,
        action: str,
        /,
        *,
        script: str | Path,
        dependencies: Sequence[str] = (),
        description: str | None = None,
        enabled: bool = True,
        trigger_type: str = "MANUAL",
        test_input: Any = DEFAULT_TEST_INPUT,
        expected_output: Any = None,
        on_test_failure: str | None = None,
        adopt: bool = False,
        depends_on: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> DataActionArgs: ...

    def add(
        self,
        action: str | DataActionArgs,
        /,
        *,
        script: str | Path | None = None,
        depends_on: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
        **fields: Any,
    ) -> DataActionArgs:
        """Declare one action, by name and fields or as a ready `DataActionArgs`.

        `script` is the JavaScript source (a `str`) or a file to read it from (a `Path`,
        relative to `base_dir`). `depends_on` names other actions of this catalog that must
        be created first although the script does not call them; resources that are not
        actions of the catalog go in `opts.depends_on`.
        """
        if isinstance(action, DataActionArgs):
            if script is not None or fields:
                given = ", ".join(["script"] * (script is not None) + sorted(fields))
                msg = (
                    f"ActionCatalog.add({action.name!r}): pass either a DataActionArgs or a name "
                    f"with fields, not both (also given: {given})"
                )
                raise ConfigurationError(msg)
            args = action
            script_file = None
        else:
            if script is None:
                msg = f"ActionCatalog.add({action!r}): give the script, as source or as a Path"
                raise ConfigurationError(msg)
            script_file = None if isinstance(script, str) else self._path(script)
            args = DataActionArgs(name=action, script=self._source(action, script), **fields)
        self._entries.append(_Entry(args, _plain_names(args), tuple(depends_on), opts, script_file))
        return args

    def include_tenant_actions(
        self, source: CxoneClient | Mapping[str, Iterable[str]] | Iterable[str]
    ) -> None:
        """Let declared actions depend on actions that exist on the tenant but are not managed here.

        Give their names, a mapping of name to dependencies, or a `CxoneClient` to list the
        tenant now (one API call per page; the only network access the catalog ever makes).
        Actions this catalog declares stay managed even when the tenant has them too.
        """
        if isinstance(source, CxoneClient):
            source = {action.name: action.dependencies for action in source.list_actions()}
        self._tenant_actions.update(tenant_dependencies(source))

    @property
    def actions(self) -> tuple[DataActionArgs, ...]:
        """The declared actions' arguments, in declaration order."""
        return tuple(entry.args for entry in self._entries)

    @property
    def script_files(self) -> tuple[Path | None, ...]:
        """The file each action's script was read from (None: given as source), as `actions`."""
        return tuple(entry.script_file for entry in self._entries)

    @property
    def tenant_actions(self) -> Mapping[str, tuple[str, ...]]:
        """The unmanaged tenant actions included so far: name to dependencies (if known)."""
        return dict(self._tenant_actions)

    def declarations(self) -> list[Declaration]:
        """What the graph checks: each action's name, dependencies and depends_on."""
        return [
            Declaration(str(entry.args.name), entry.dependencies, entry.depends_on)
            for entry in self._entries
        ]

    def validate(self) -> ValidatedGraph:
        """Check the declared graph (with the included tenant actions) without registering.

        Raises DependencyGraphError (DependencyCycleError on a cycle) listing every problem.
        """
        return validate_graph(self.declarations(), tenant_actions=self._tenant_actions)

    def register(self) -> dict[str, DataAction]:
        """Validate everything, then create the DataAction resources, dependencies first.

        Nothing is registered when validation fails. Each resource is named after its action
        and depends on the resources of the actions it must follow, merged with any
        `opts.depends_on` given to `add`; its managed dependencies are those resources'
        `name` outputs.
        """
        if self._registered:
            msg = "ActionCatalog.register() was already called; register a catalog once"
            raise ConfigurationError(msg)
        for collected in _COLLECTORS:
            collected.append(self)
        try:
            validated = self.validate()
        except DependencyGraphError as exc:
            # The program's traceback ends here: the graph module's frames say nothing more.
            raise exc.with_traceback(None) from None
        self._registered = True
        entries = {str(entry.args.name): entry for entry in self._entries}
        resources: dict[str, DataAction] = {}
        for name in validated.order:
            entry = entries[name]
            ordering = pulumi.ResourceOptions(
                depends_on=[resources[needed] for needed in validated.prerequisites(name)]
            )
            args = replace(
                entry.args,
                dependencies=[
                    resources[needed].name if needed in resources else needed
                    for needed in entry.dependencies
                ],
            )
            resources[name] = DataAction(
                name, args, pulumi.ResourceOptions.merge(entry.opts, ordering)
            )
        return resources

    def _source(self, action: str, script: str | Path) -> str:
        if isinstance(script, str):
            if script.endswith(".js") and "\n" not in script:
                msg = (
                    f"ActionCatalog.add({action!r}): script {script!r} looks like a file name; "
                    f"pass Path({script!r}) to read the file, or the source itself as a str"
                )
                raise ConfigurationError(msg)
            return script
        path = self._path(script)
        try:
            return read_utf8(path)
        except ConfigurationError as exc:
            msg = (
                f"ActionCatalog.add({action!r}): the script: {exc} (relative paths start at "
                f"base_dir {str(self._base_dir)!r})"
            )
            raise ConfigurationError(msg) from None

    def _path(self, script: Path) -> Path:
        return script if script.is_absolute() else self._base_dir / script


def _plain_names(args: DataActionArgs) -> Sequence[str]:
    """The dependencies as plain names: the graph is checked before any Output resolves.

    A bare string is passed on as it is, for the graph to report it as a problem.
    """
    dependencies = args.dependencies
    if isinstance(dependencies, str):
        return dependencies
    if (
        isinstance(args.name, str)
        and isinstance(dependencies, Sequence)
        and all(isinstance(name, str) for name in dependencies)
    ):
        return [str(name) for name in dependencies]
    msg = (
        f"ActionCatalog.add({args.name!r}): the name and dependencies of a catalog action "
        "must be plain strings, not Outputs: the catalog checks the graph before any "
        "resource exists"
    )
    raise ConfigurationError(msg)
