"""A server on loopback that answers the token endpoint and pages of actions no API would give.

It stands for a tenant (or a base URL that is not one) whose listing goes round: `repeat`
gives the same nextCursor again and again, `endless` a new one on every page. The client and
`cxone export` must stop either way. `fixed` serves one page of the actions it is given,
whatever their names and texts hold (a hostile or broken tenant).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Paging = Literal["repeat", "endless", "fixed"]


def tenant_action(number: int, name: str | None = None, **fields: Any) -> dict[str, Any]:
    """An action as the API lists it; `fields` (camelCase) replace the defaults."""
    return {
        "id": f"00000000-0000-0000-0000-{number:012d}",
        "name": name if name is not None else f"looped_{number}",
        "description": "",
        "type": "SCRIPT",
        "trigger": {"type": "MANUAL"},
        "script": {"language": "JavaScript", "content": "function main(c) { return 1; }"},
        "enabled": True,
        "dependencies": [],
        "version": 1,
        "createdTimestamp": 1,
        "modifiedTimestamp": 1,
        **fields,
    }


class PagingServer:
    """Serves `POST /api/v2/oauth/token` and `GET /api/v2/dataactions/actions` on a free port."""

    def __init__(self, paging: Paging, actions: list[dict[str, Any]] | None = None) -> None:
        self.pages_served = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self._answer(
                    {
                        "access_token": "looping-token",
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "DataActions.ReadWrite",
                    }
                )

            def do_GET(self) -> None:
                with lock:
                    server.pages_served += 1
                    number = server.pages_served
                cursor = parse_qs(urlsplit(self.path).query).get("cursor", [""])[0]
                if paging == "fixed":
                    page = {"entities": actions or [], "nextCursor": None}
                elif paging == "repeat":
                    page = {"entities": [tenant_action(number)], "nextCursor": "the-same-cursor"}
                else:
                    page = {"entities": [], "nextCursor": f"{cursor}x"[-40:] + str(number)}
                self._answer(page)

            def _answer(self, body: dict[str, Any]) -> None:
                content = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- stdlib name
                """Keep test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
