"""The Pulumi side: the `DataAction` resource, its catalog, and the provider the engine runs.

Holds what a stack program declares (`resource`, `catalog`, with the dependency-graph check
in `graph`), the provider's settings (`settings`, `setting_values`), and the dynamic provider
split by job: the plugin class the engine talks to (`provider`), the wire format of the
resource's properties (`properties`), `check`, `diff`, one module per API operation
(`create`, `read`, `update`, `delete`, with their rollback policies), what they share
(`operation`, `clients`, `testing`), and what they report (`webhook`, `audit`).

It may import `cxone_provider.api` (and Pulumi); it must not import the command line
(`cxone_provider.cli`) nor the emulator (`lint-imports` checks this; see pyproject.toml).
"""
