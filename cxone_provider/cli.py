"""The `cxone` command line: one entry point, one subcommand per job."""

from __future__ import annotations

from typing import Annotated

import typer

from cxone_provider.errors import ConfigurationError

app = typer.Typer(
    name="cxone",
    help="Infrastructure as code for NICE CXone Data Actions.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def cxone() -> None:
    """Keep `cxone` a group of subcommands (typer runs a lone command as the whole app)."""


@app.command()
def emulator(  # noqa: PLR0917 -- typer maps parameters to options, none is positional
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8765,
    db: Annotated[
        str, typer.Option(help="SQLite file of the actions (':memory:' keeps nothing).")
    ] = ".cxone-emulator.sqlite3",
    client: Annotated[
        list[str] | None,
        typer.Option(
            "--client",
            help="OAuth client ID:SECRET[:SCOPES] (repeatable; scopes space- or comma-separated, "
            "default DataActions.ReadWrite). Without it: demo / demo-secret.",
        ),
    ] = None,
    token_ttl: Annotated[int, typer.Option(help="Seconds a token is valid.")] = 3600,
    rate_limit: Annotated[
        float, typer.Option(help="Requests per second per OAuth client (token bucket); 0 = off.")
    ] = 20.0,
    burst: Annotated[
        int | None,
        typer.Option(help="Token bucket size per OAuth client; by default 2 x --rate-limit (40)."),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option(help="Milliseconds added to every API answer.")
    ] = 0.0,
    fault_rate: Annotated[
        float, typer.Option(help="Fraction of API requests answered 503 before doing anything.")
    ] = 0.0,
    drop_rate: Annotated[
        float,
        typer.Option(help="Fraction of successful action writes committed but never answered."),
    ] = 0.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the fault draws (reproducible runs).")
    ] = None,
) -> None:
    """Run the local CXone emulator: the Data Actions API on a real HTTP server."""
    from cxone_provider.emulator.server import serve  # noqa: PLC0415 -- keeps other commands fast
    from cxone_provider.emulator.settings import (  # noqa: PLC0415 -- keeps other commands fast
        DEMO_CLIENT,
        EmulatorSettings,
        OAuthClient,
    )

    try:
        settings = EmulatorSettings(
            host=host,
            port=port,
            db=db,
            clients=tuple(OAuthClient.parse(text) for text in client) if client else (DEMO_CLIENT,),
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
        raise typer.BadParameter(str(exc)) from exc


def main() -> None:
    """Run the `cxone` command line."""
    app()
