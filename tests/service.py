"""Real service processes for the end-to-end, web and benchmark tests: ``gmopt serve`` and ``gmopt worker``.

Everything listens on 127.0.0.1 at a free port; processes are started with the test's own
environment (GMOPT_DATA_DIR, GMOPT_DATABASE_URL...) plus what the test adds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

GMOPT = str(Path(sys.executable).with_name("gmopt"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(**settings: object) -> dict[str, str]:
    """This process's environment plus ``GMOPT_<NAME>`` for each setting given."""
    env = dict(os.environ)
    env.update({f"GMOPT_{name.upper()}": str(value) for name, value in settings.items()})
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as handle:
        return subprocess.Popen([GMOPT, "worker"], env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
    """Send ``sig`` and wait; kill if it does not end in time. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextlib.contextmanager
def api_server(env: dict[str, str], log: Path, port: int | None = None) -> Iterator[str]:
    """``gmopt serve`` on 127.0.0.1; yields its base URL once /health answers."""
    port = port or free_port()
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [GMOPT, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url), timeout_s=60, what=f"the API at {url} (log: {log})", process=process)
        yield url
    finally:
        stop(process)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition, timeout_s: float, what: str, process: subprocess.Popen | None = None, poll_s: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        time.sleep(poll_s)
    raise TimeoutError(f"waited {timeout_s:g} s for {what}")
