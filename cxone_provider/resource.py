"""The resource's import path before issue 14, kept for the programs that use it.

Programs written before `DataAction` moved to `cxone_provider.deploy.resource` may import it,
its arguments or `JSON_NULL` from here; new programs import them from `cxone_provider`.
Nothing in the package imports this module (`lint-imports` checks it).
"""

from cxone_provider.deploy.resource import JSON_NULL, DataAction, DataActionArgs

__all__ = ["JSON_NULL", "DataAction", "DataActionArgs"]
