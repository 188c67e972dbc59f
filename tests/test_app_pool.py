"""The API's simulation pool: a call past its time-out is stopped, its process replaced, and the pool serves on."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from app.simulation_pool import SimulationCrashed, SimulationPool, SimulationTimeout


def test_a_hung_call_is_stopped_and_its_process_replaced() -> None:
    pool = SimulationPool(processes=1)

    async def scenario() -> tuple[int, int]:
        first = await pool.call(60, os.getpid)
        with pytest.raises(SimulationTimeout, match="longer than 0.5 s"):
            await pool.call(0.5, time.sleep, 3600)  # would hold the only process for an hour
        return first, await pool.call(60, os.getpid)

    try:
        before, after = asyncio.run(scenario())
    finally:
        pool.close()
    assert before != after  # the hung process was ended; a fresh one answered


def test_a_process_that_dies_is_reported_and_replaced() -> None:
    pool = SimulationPool(processes=1)

    async def scenario() -> int:
        with pytest.raises(SimulationCrashed, match="died"):
            await pool.call(60, os._exit, 3)
        return await pool.call(60, os.getpid)

    try:
        assert asyncio.run(scenario()) > 0
    finally:
        pool.close()
