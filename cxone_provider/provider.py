"""The provider's import path before issue 14, kept for the states that record it.

Every DataAction in a stack's state holds its provider as a dill pickle that names the class
by module: states written before the provider moved to `cxone_provider.deploy.provider` name
`cxone_provider.provider.DataActionProvider`, and the plugin unpickles them at each refresh,
delete or diff. Nothing in the package imports this module (`lint-imports` checks it).
"""

from cxone_provider.deploy.provider import DataActionProvider

__all__ = ["DataActionProvider"]
