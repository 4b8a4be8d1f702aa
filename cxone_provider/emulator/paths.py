"""The route templates of the emulated API, shared by the routes, the stats and the faults."""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "/api/v2/dataactions/"
TOKEN: Final = "/api/v2/oauth/token"
ACTIONS: Final = "/api/v2/dataactions/actions"
ACTION: Final = ACTIONS + "/{id}"
ACTION_TEST: Final = ACTION + "/test"

API_TEMPLATES: Final = (TOKEN, ACTIONS, ACTION, ACTION_TEST)

# Writes that change actions: what --drop-rate may drop and what the api_writes counter counts.
ACTION_WRITES: Final = frozenset({("POST", ACTIONS), ("PUT", ACTION), ("DELETE", ACTION)})
