"""``gmopt serve``, ``gmopt worker`` and ``gmopt db upgrade``: the service's commands."""

from __future__ import annotations

import logging

import typer

from gmopt.cli_support import user_errors

db_app = typer.Typer(help="The service's database.", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 in a container)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    processes: int = typer.Option(1, "--processes", min=1, max=64, help="uvicorn worker processes."),
) -> None:
    """Run the REST API and the web page (settings from GMOPT_* variables)."""
    import uvicorn

    from app.db import upgrade

    with user_errors():
        upgrade()  # once, before uvicorn's processes start
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=processes, log_level="info")


def worker(
    once: bool = typer.Option(False, "--once", help="Stop when the queue is empty instead of waiting."),
) -> None:
    """Take queued runs from the database and run them until stopped (start as many as you like)."""
    from app.worker import serve as serve_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with user_errors():
        taken = serve_worker(once=once)
    typer.echo(f"worker stopped after {taken} run(s)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest revision."""
    from sqlalchemy import make_url

    from app.db import database_url, upgrade

    with user_errors():
        url = upgrade(database_url())
    typer.echo(f"database at the newest schema: {make_url(url).render_as_string(hide_password=True)}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
