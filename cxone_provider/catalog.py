"""The catalog's import path before issue 14, kept for the programs that use it.

`cxone export` wrote `from cxone_provider.catalog import ActionCatalog` into every program it
exported before the catalog moved to `cxone_provider.deploy.catalog`; new programs import it
from `cxone_provider`. Nothing in the package imports this module (`lint-imports` checks it).
"""

from cxone_provider.deploy.catalog import ActionCatalog

__all__ = ["ActionCatalog"]
