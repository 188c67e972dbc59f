"""Shared fixtures: every test gets its own gmopt data directory, so nothing leaks between tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gmopt.settings import get_settings


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private GMOPT_DATA_DIR per test; the LUT cache is shared across the session to save time."""
    folder = tmp_path_factory.mktemp("gmopt-data")
    shared_luts = tmp_path_factory.getbasetemp() / "shared-luts"
    shared_luts.mkdir(exist_ok=True)
    (folder / "luts").symlink_to(shared_luts)
    monkeypatch.setenv("GMOPT_DATA_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()
