"""`cxone emulator`: the local CXone emulator, on a real HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.cli.output import (
    Output,
)

EXAMPLES: Final = """Examples:

\b
  cxone emulator             # http://127.0.0.1:8765, demo / demo-secret
  cxone emulator --port 0 --db :memory: --latency-ms 20 --fault-rate 0.1 --seed 7
"""


# Over 60 lines: typer reads the command's options from this signature; the body is short.
def emulator(  # noqa: PLR0917 -- typer maps parameters to options, none is positional
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port to listen on; 0 picks a free one.")
    ] = 8765,
    db: Annotated[
        str,
        typer.Option(metavar="FILE", help="SQLite file of the actions (':memory:' keeps nothing)."),
    ] = ".cxone-emulator.sqlite3",
    client: Annotated[
        list[str] | None,
        typer.Option(
            "--client",
            metavar="ID:SECRET[:SCOPES]",
            envvar="CXONE_EMULATOR_CLIENTS",
            help="OAuth client ID:SECRET[:SCOPES] (repeatable; scopes comma-separated, default "
            "DataActions.ReadWrite). The command line is visible to every local user (ps): "
            "prefer CXONE_EMULATOR_CLIENTS (clients separated by spaces) or --clients-file. "
            "Without any: demo / demo-secret.",
            show_envvar=False,
        ),
    ] = None,
    clients_file: Annotated[
        Path | None,
        typer.Option(
            "--clients-file",
            metavar="FILE",
            help="File of OAuth clients, one ID:SECRET[:SCOPES] per line (# comments).",
            show_default=False,
        ),
    ] = None,
    token_ttl: Annotated[
        int, typer.Option(metavar="SECONDS", help="Seconds a token is valid.")
    ] = 3600,
    rate_limit: Annotated[
        float,
        typer.Option(
            metavar="RPS", help="Requests per second per OAuth client (token bucket); 0 = off."
        ),
    ] = 20.0,
    burst: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Token bucket size per OAuth client; by default 2 x --rate-limit."
        ),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option(metavar="MS", help="Milliseconds added to every API answer.")
    ] = 0.0,
    fault_rate: Annotated[
        float,
        typer.Option(
            metavar="F", help="Fraction of API requests answered 503 before doing anything."
        ),
    ] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(
            metavar="F", help="Fraction of successful action writes committed but never answered."
        ),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(metavar="N", help="Seed of the fault draws (reproducible runs)."),
    ] = None,
) -> None:
    """Run the local CXone emulator: the Data Actions API on a real HTTP server."""
    from cxone_provider.emulator.server import serve  # noqa: PLC0415 -- keeps other commands fast
    from cxone_provider.emulator.settings import (  # noqa: PLC0415 -- keeps other commands fast
        DEMO_CLIENT,
        EmulatorSettings,
        clients_from_file,
        clients_from_texts,
    )

    try:
        clients = clients_from_texts(client or (), "--client / CXONE_EMULATOR_CLIENTS")
        if clients_file is not None:
            clients += clients_from_file(clients_file)
        settings = EmulatorSettings(
            host=host,
            port=port,
            db=db,
            clients=clients or (DEMO_CLIENT,),
            token_ttl_s=token_ttl,
            rate_limit=rate_limit,
            burst=burst,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            drop_rate=drop_rate,
            seed=seed,
        )
        serve(settings)
    except ConfigurationError as exc:
        Output("emulator", as_json=False).fail(exc)
