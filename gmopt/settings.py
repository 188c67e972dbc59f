"""The one settings object of gmopt, read from the environment (``GMOPT_*``) by pydantic-settings."""

from __future__ import annotations

import functools
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where gmopt keeps its files and how the service runs."""

    model_config = SettingsConfigDict(env_prefix="GMOPT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("gmopt")),
        description="Installed technologies, LUT cache and the default SQLite database live here.",
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means a SQLite file in data_dir.")
    api_token: str = Field(default="", description="When set, write endpoints need 'Authorization: Bearer <token>'.")
    workers: int = Field(default=2, ge=1, le=64, description="Simulation worker processes per optimization run.")
    dask_address: str = Field(default="", description="Dask scheduler (tcp://host:8786) for a run's simulations; empty = local processes.")
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, description="Larger request bodies are refused with 413.")
    max_queued_runs: int = Field(default=200, ge=1, description="POST /runs answers 429 while this many runs wait.")
    max_active_runs_per_token: int = Field(default=20, ge=1, description="Queued + running runs allowed per API token (429 beyond).")
    max_evaluations_per_run: int = Field(default=20_000, ge=1, description="Largest population x generations of one run.")
    heartbeat_interval_s: float = Field(default=5.0, gt=0, description="How often a worker confirms it still runs its job.")
    stale_after_s: float = Field(default=60.0, gt=0, description="A running job without a heartbeat for this long is re-queued.")
    evaluate_timeout_s: float = Field(default=60.0, gt=0, description="POST /evaluate gives up (504) after this long.")

    @property
    def technologies_dir(self) -> Path:
        return self.data_dir / "technologies"

    @property
    def lut_cache_dir(self) -> Path:
        return self.data_dir / "luts"

    @property
    def resize_cache_dir(self) -> Path:
        """The testbenches' width-change calibrations (``ota.resize``), one small JSON file each."""
        return self.data_dir / "resize"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache after changing the environment)."""
    return Settings()
