"""Service figures: requests/s and p99 latency of GET /runs/{id}/front for a 1,000-point front.

A real ``gmopt serve`` (one uvicorn process, SQLite) holds a run whose last generation's front has
1,000 points (synthetic records: this measures reading and serving, not simulating). The load
comes from Debian's ``wrk`` when installed, otherwise from an httpx async generator in a separate
process. The baseline, measured the same way in the same run, is GET /health (one small query).
Goal on this 2-core machine: >= 500 requests/s and p99 < 50 ms.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from app.db import open_database, session_scope
from app.queue import enqueue
from app.sql_store import SqlRunStore
from gmopt.settings import Settings
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord
from tests.service import api_server, service_env

FRONT_POINTS = 1000
DURATION_S = 8
CONNECTIONS = 16
HTTPX_LOAD = """
import asyncio, json, sys, time
import httpx
url, duration, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
latencies = []
async def user(client, stop):
    while time.perf_counter() < stop:
        started = time.perf_counter()
        (await client.get(url)).raise_for_status()
        latencies.append(time.perf_counter() - started)
async def main():
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:
        stop = time.perf_counter() + duration
        await asyncio.gather(*(user(client, stop) for _ in range(connections)))
started = time.perf_counter()
asyncio.run(main())
elapsed = time.perf_counter() - started
latencies.sort()
print(json.dumps({"requests_per_s": len(latencies) / elapsed, "p99_ms": 1e3 * latencies[int(0.99 * (len(latencies) - 1))]}))
"""


def _store_front(settings: Settings) -> int:
    """A run with FRONT_POINTS front points; returns its id."""
    engine = open_database(settings)
    spec = RunSpec(topology="fig7", pop_size=FRONT_POINTS, generations=1, seeding="random").model_dump(mode="json")
    with session_scope(engine) as session:
        run_id = enqueue(session, spec, "bench", settings).id
    rng = random.Random(1)
    records = [
        EvaluationRecord(
            index=i, generation=0, var=[rng.randint(40, 8000) for _ in range(5)], widths_um=[rng.uniform(3.6, 720) for _ in range(5)],
            metrics={"gain_db": rng.uniform(40, 60), "bandwidth_hz": rng.uniform(1e6, 1e7), "phase_margin_deg": rng.uniform(55, 90),
                     "gm_s": rng.uniform(1e-3, 4e-3), "rmse_a": rng.uniform(1e-6, 2e-5), "offset_v": rng.uniform(-0.05, 0.05),
                     "power_w": rng.uniform(1e-4, 3e-3), "all_saturated": True, "converged": True},
            curves={"vin_v": [], "iout_a": []}, objectives=[rng.random(), -rng.uniform(40, 60), rng.random() * 1e-3],
            constraints=[-rng.random() for _ in range(6)], feasible=True, converged=True, wall_time_s=0.004,
        )
        for i in range(FRONT_POINTS)
    ]
    store = SqlRunStore(engine, run_id)
    store.add_evaluations(records)
    store.complete_generation(0, b"-", 0.5, list(range(FRONT_POINTS)))
    return run_id


def _load(url: str) -> dict:
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url],
                             capture_output=True, text=True, check=True).stdout
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
        return {"tool": "wrk", "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                "p99_ms": float(p99.group(1)) * scale}
    out = subprocess.run([sys.executable, "-c", HTTPX_LOAD, url, str(DURATION_S), str(CONNECTIONS)],
                         capture_output=True, text=True, check=True).stdout
    return {"tool": "httpx async (separate process)", **json.loads(out)}


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="gmopt-bench-api-") as folder:
        settings = Settings(data_dir=Path(folder), database_url="")
        run_id = _store_front(settings)
        with api_server(service_env(data_dir=folder, database_url=""), Path(folder) / "api.log") as url:
            front_url = f"{url}/runs/{run_id}/front"
            body = subprocess.run([sys.executable, "-c", f"import httpx; print(len(httpx.get('{front_url}').content))"],
                                  capture_output=True, text=True, check=True).stdout
            front = _load(front_url)
            health = _load(f"{url}/health")
    result = {
        "tool": front["tool"], "front_points": FRONT_POINTS, "front_bytes": int(body), "connections": CONNECTIONS,
        "front_requests_per_s": round(front["requests_per_s"], 1), "front_p99_ms": round(front["p99_ms"], 2),
        "health_requests_per_s": round(health["requests_per_s"], 1), "health_p99_ms": round(health["p99_ms"], 2),
        "front_vs_health_throughput": round(front["requests_per_s"] / health["requests_per_s"], 3),
        "goal_met": front["requests_per_s"] >= 500 and front["p99_ms"] < 50,
    }
    print(f"   load tool: {result['tool']}, {CONNECTIONS} connections, {DURATION_S} s per endpoint")
    print(f"   GET /runs/{{id}}/front ({FRONT_POINTS} points, {result['front_bytes']} bytes): "
          f"{result['front_requests_per_s']} req/s, p99 {result['front_p99_ms']} ms")
    print(f"   GET /health (baseline): {result['health_requests_per_s']} req/s, p99 {result['health_p99_ms']} ms")
    print(f"   goal >= 500 req/s and p99 < 50 ms: {'met' if result['goal_met'] else 'NOT met'}")
    return result
