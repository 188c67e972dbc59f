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

    @property
    def technologies_dir(self) -> Path:
        return self.data_dir / "technologies"

    @property
    def lut_cache_dir(self) -> Path:
        return self.data_dir / "luts"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear this cache after changing the environment)."""
    return Settings()
