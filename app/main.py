"""The gmopt service: ``create_app()`` builds the FastAPI application (``gmopt serve`` runs it)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.routes import circuits, evaluate, health, luts, memristor, options, points, runs, technologies, web
from app.crud import FrontCache
from app.db import open_database
from app.simulation_pool import SimulationPool
from gmopt import __version__
from gmopt.settings import Settings, get_settings

DESCRIPTION = """Multi-objective sizing of OTAs on ngspice (gm/ID look-up tables, NSGA-II).

Queue a run with `POST /runs`, follow it with `GET /runs/{id}`, read its Pareto front with
`GET /runs/{id}/front`. Non-finite numbers are written as the strings "inf", "-inf", "nan".
When the service has a token, writes need `Authorization: Bearer <token>`."""


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413, whether or not they declare their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._refuse(scope, receive, send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"the request body is larger than this service's limit of {self.max_bytes} bytes"},
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        )
        await response(scope, receive, send)


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's list of problems plus one sentence per field that says what to fix."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
        problems.append(f"{where}: {error['msg']}")
    detail = json.loads(json.dumps(exc.errors(), default=str))
    return JSONResponse({"detail": detail, "message": "; ".join(problems)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = open_database(settings)  # migrates the schema first
        app.state.front_cache = FrontCache()
        app.state.simulation_pool = SimulationPool(processes=1)
        yield
        app.state.simulation_pool.close()

    app = FastAPI(title="gmopt", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (health, technologies, luts, evaluate, options, circuits, runs, points, memristor, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app
