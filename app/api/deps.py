"""What routes depend on: settings, the database session, the front cache, the simulation pool, the writer's identity.

The getters of app state are ``async`` so FastAPI calls them in the event loop, not in a thread.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.crud import FrontCache
from app.db import reader, session_scope
from app.queue import owner_of
from app.simulation_pool import SimulationCrashed, SimulationPool, SimulationTimeout
from engine import SimulationError
from engine import SimulationTimeout as EngineTimeout
from gmopt.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Needed for writes when the service has GMOPT_API_TOKEN set.")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_read_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A transaction that only reads: it never waits for (nor blocks) the workers' writes on SQLite."""
    with session_scope(reader(engine)) as session:
        yield session


async def get_front_cache(request: Request) -> FrontCache:
    return request.app.state.front_cache


async def get_simulation_pool(request: Request) -> SimulationPool:
    return request.app.state.simulation_pool


def require_writer(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The writer's identity (a hash of its token); 401 without a token, 403 with a wrong one."""
    if not settings.api_token:
        return owner_of(None)
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "this service needs 'Authorization: Bearer <token>' for writes",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), settings.api_token.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the bearer token is not valid for this service")
    return owner_of(credentials.credentials)


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
# Only reads come as a dependency: a write transaction must begin and end in one thread, or
# SQLite's write lock could wait for a thread-pool slot held by a request waiting for that lock.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
FrontCacheDep = Annotated[FrontCache, Depends(get_front_cache)]
PoolDep = Annotated[SimulationPool, Depends(get_simulation_pool)]
WriterDep = Annotated[str, Depends(require_writer)]


async def simulate(pool: SimulationPool, settings: Settings, function: Callable[..., Any], *args: Any) -> Any:
    """Run a simulation in the pool: bad input or a case ngspice cannot solve becomes 422, a
    time-out 504, a crashed process 503."""
    try:
        return await pool.call(settings.evaluate_timeout_s, function, *args)
    except ValueError as exc:  # includes UnknownTechnology: the message names what to fix
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except (SimulationTimeout, EngineTimeout) as exc:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, str(exc)) from exc
    except SimulationError as exc:  # e.g. no convergence for these parameters: ngspice's own words
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"ngspice could not simulate this case: {exc}") from exc
    except SimulationCrashed as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the simulation process was restarted; retry") from exc
