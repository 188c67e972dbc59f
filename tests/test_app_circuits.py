"""Circuit packages in the service: the SQL store (same text, same id; a changed text, a new
version), the /circuits endpoints on a real uvicorn against SQLite and PostgreSQL, the token,
``gmopt circuit add/list/show`` on the same database, a run posted by circuit name that a real
worker finishes with the stored hash in its provenance, and every injection attempt of
tests/injection.py refused through the API and through ``gmopt circuit add`` (a marker file stays absent)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from circuits import EXAMPLES_DIR
from circuits.library import resolve
from circuits.model import CircuitError
from circuits.parse import parse_number
from tests.injection import FIELD_IDS, NETLIST_IDS, field_attempts, netlist_attempts, package
from tests.service import GMOPT, api_server, service_env, start_worker, stop, wait_until

MILLER = EXAMPLES_DIR / "miller.yaml"
BASELINE = EXAMPLES_DIR / "baseline.yaml"
TOKEN = "circuit-token"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def edited(text: str) -> str:
    """The same circuit with one more comment line: a new version (another hash) under the same name."""
    return "# edited\n" + text


# --- the store ---------------------------------------------------------------------------------
def test_the_store_is_idempotent_by_text_and_keeps_every_version(engine) -> None:
    from app import circuits as store
    from app.db import session_scope

    text = MILLER.read_text()
    first, created = store.add_circuit(engine, text)
    again, created_again = store.add_circuit(engine, text)
    assert created and not created_again and again.id == first.id and first.content_hash == sha256(text)
    newer, created_newer = store.add_circuit(engine, edited(text))
    other, _ = store.add_circuit(engine, BASELINE.read_text())
    assert created_newer and len({first.id, newer.id, other.id}) == 3
    with session_scope(engine) as session:
        assert [(r.name, r.id) for r in store.list_circuits(session)] == [("baseline", other.id), ("miller", newer.id)]
        assert store.get_circuit(session, "MILLER").id == newer.id  # names are case-insensitive, the newest wins
        assert store.get_circuit(session, str(first.id)).text == text  # the old version is kept as it was
        assert store.versions(session, "miller") == 2
        with pytest.raises(store.UnknownCircuit, match="no stored circuit 'opamp9'"):
            store.get_circuit(session, "opamp9")


def test_resolve_finds_a_stored_circuit_and_a_path_wins(engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import circuits as store

    stored, _ = store.add_circuit(engine, MILLER.read_text())
    assert resolve("miller").content_hash == stored.content_hash == resolve(str(stored.id)).content_hash
    (tmp_path / "miller").write_text(BASELINE.read_text())  # a file named like the stored circuit
    monkeypatch.chdir(tmp_path)
    assert resolve("miller").circuit.name == "baseline"
    with pytest.raises(CircuitError, match="no circuit file 'nothing' and no stored circuit"):
        resolve("nothing")


# --- the API on a real server ------------------------------------------------------------------
@pytest.fixture
def server(database_url: str, tmp_path: Path):
    env = service_env(database_url=database_url, api_token=TOKEN, workers=1, heartbeat_interval_s=0.3)
    with api_server(env, tmp_path / "api.log") as url:
        yield url, env


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_circuits_round_trip_through_the_api_with_the_token(server) -> None:
    url, _ = server
    text = MILLER.read_text()
    assert httpx.post(f"{url}/circuits", json={"text": text}).status_code == 401
    assert httpx.post(f"{url}/circuits", json={"text": text}, headers={"Authorization": "Bearer wrong"}).status_code == 403
    created = httpx.post(f"{url}/circuits", json={"text": text}, headers=AUTH)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] and body["name"] == "miller" and body["content_hash"] == sha256(text) and body["text"] == text
    raw = httpx.post(f"{url}/circuits", content=text.encode(), headers=AUTH | {"Content-Type": "text/yaml"})
    assert raw.status_code == 200 and raw.json()["id"] == body["id"] and not raw.json()["created"]
    newer = httpx.post(f"{url}/circuits", json={"text": edited(text)}, headers=AUTH).json()
    assert newer["id"] != body["id"] and newer["versions"] == 2
    # what the file says, read independently of the store
    data = yaml.safe_load(text)
    shown = httpx.get(f"{url}/circuits/{body['id']}").json()
    assert shown["content_hash"] == sha256(text) and shown["testbench"] == data["testbench"]["name"] == "opamp"
    assert [v["name"] for v in shown["variables"]] == [v["name"] for v in data["variables"]]
    for variable, given in zip(shown["variables"], data["variables"], strict=True):
        assert variable["min"] == pytest.approx(parse_number(str(given["min"])), rel=1e-12)
        assert variable["max"] == pytest.approx(parse_number(str(given["max"])), rel=1e-12)
    assert shown["pins"]["out"] == data["pins"]["out"] and "phase_margin_deg" in shown["measures"]
    assert httpx.get(f"{url}/circuits/miller").json()["id"] == newer["id"]
    listed = httpx.get(f"{url}/circuits").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == newer["id"]
    assert [c["name"] for c in httpx.get(f"{url}/run-options").json()["circuits"]] == ["miller"]
    missing = httpx.get(f"{url}/circuits/opamp9")
    assert missing.status_code == 404 and "gmopt circuit add" in missing.json()["detail"]


def test_a_refused_or_oversized_package_says_what_to_fix(server) -> None:
    url, _ = server
    text, _ = package(testbench={"name": "bode_plot"})
    refused = httpx.post(f"{url}/circuits", json={"text": text}, headers=AUTH)
    assert refused.status_code == 422 and "testbench.name" in refused.json()["detail"] and "ota_open_loop" in refused.json()["detail"]
    too_big = httpx.post(f"{url}/circuits", json={"text": "x" * 200_001}, headers=AUTH)
    assert too_big.status_code == 422 and "200000" in str(too_big.json())
    assert httpx.get(f"{url}/circuits").json()["count"] == 0


# --- injection attempts through the API and the CLI -------------------------------------------
@pytest.fixture(scope="module")
def injection_server(tmp_path_factory: pytest.TempPathFactory):
    """One API (SQLite) for every attempt: each is refused before the database is written."""
    folder = tmp_path_factory.mktemp("injection-api")
    env = service_env(data_dir=folder, database_url=f"sqlite:///{folder / 'gmopt.sqlite'}")
    with api_server(env, folder / "api.log") as url:
        yield url


def _attempt(attempt: str, marker: Path) -> tuple[str, str, str]:
    """(package text, where the refusal must point, reason) of one attempt of the shared list."""
    if attempt in NETLIST_IDS:
        _, netlist, line, reason = next(a for a in netlist_attempts(marker) if a[0] == attempt)
        text, offset = package(netlist)
        # a control character is refused by the YAML reader first, at the same file line
        return text, f"line {offset + line}" + ("" if attempt == "control-character" else f" (netlist line {line})"), reason
    _, fields, where, reason = next(a for a in field_attempts(marker) if a[0] == attempt)
    return package(**fields)[0], where, reason


ATTEMPTS = NETLIST_IDS + FIELD_IDS


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_injection_through_the_api_is_refused(attempt: str, injection_server: str, marker: Path) -> None:
    text, where, reason = _attempt(attempt, marker)
    answer = httpx.post(f"{injection_server}/circuits", json={"text": text}, timeout=30)
    detail = answer.json()["detail"]
    assert answer.status_code == 422 and where in detail and reason in detail, detail
    run = httpx.post(f"{injection_server}/runs", json={"circuit_package": text, "pop_size": 4, "generations": 2}, timeout=30)
    assert run.status_code == 422 and reason in str(run.json()), run.text
    assert httpx.get(f"{injection_server}/circuits").json()["count"] == 0


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_injection_through_gmopt_circuit_add_is_refused(attempt: str, marker: Path, tmp_path: Path, data_dir: Path) -> None:
    text, where, reason = _attempt(attempt, marker)
    path = tmp_path / "attempt.yaml"
    path.write_text(text)
    added = subprocess.run([GMOPT, "circuit", "add", str(path)], capture_output=True, text=True, timeout=120)
    assert added.returncode == 1 and where in added.stderr and reason in added.stderr, added.stderr
    assert added.stdout == "" and not (data_dir / "gmopt.sqlite").exists()  # refused before the database is opened


def test_enough_attempts_are_shared() -> None:
    """Issue 14 asks for at least 25 attempts through each of the CLI and the API."""
    assert len(ATTEMPTS) >= 25 and len(set(ATTEMPTS)) == len(ATTEMPTS)


# --- the CLI on the service's database, and a run by circuit name ------------------------------
def _gmopt(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([GMOPT, *args], capture_output=True, text=True, timeout=120, env=env | {"COLUMNS": "160"})


def test_cli_add_list_show_share_the_services_database(server) -> None:
    url, env = server
    added = _gmopt("circuit", "add", str(MILLER), env=env)
    assert added.returncode == 0 and "added circuit miller id 1" in added.stdout, added.stderr
    assert "already stored as circuit miller id 1" in _gmopt("circuit", "add", str(MILLER), env=env).stdout
    assert httpx.get(f"{url}/circuits/miller").json()["content_hash"] == sha256(MILLER.read_text())
    listed = _gmopt("circuit", "list", env=env).stdout
    assert "miller" in listed and sha256(MILLER.read_text())[:12] in listed
    shown = _gmopt("circuit", "show", "miller", env=env).stdout
    # miller.yaml: cc from 0.2p to 10p, ibias from 5u to 100u, gbw >= 10 MHz
    assert "200 fF" in shown and "10 pF" in shown and "5 uA" in shown and "100 uA" in shown and ">= 10 MHz" in shown
    missing = _gmopt("circuit", "show", "opamp9", env=env)
    assert missing.returncode == 1 and "no stored circuit 'opamp9'" in missing.stderr


def test_a_run_posted_by_circuit_name_reaches_the_worker(server, tmp_path: Path) -> None:
    url, env = server
    text = MILLER.read_text()
    circuit = httpx.post(f"{url}/circuits", json={"text": text}, headers=AUTH).json()
    refused = httpx.post(f"{url}/runs", json={"circuit": "miller", "pop_size": 4, "generations": 2, "bias_v": {"vb": 0.5}}, headers=AUTH)
    assert refused.status_code == 422 and "do not apply to a circuit run" in refused.text
    unknown = httpx.post(f"{url}/runs", json={"circuit": "opamp9", "pop_size": 4, "generations": 2}, headers=AUTH)
    assert unknown.status_code == 422 and "no stored circuit 'opamp9'" in unknown.text
    created = httpx.post(f"{url}/runs", json={"circuit": "miller", "pop_size": 4, "generations": 2, "seed": 3}, headers=AUTH)
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["topology"] == run["circuit_name"] == "miller" and run["circuit_id"] == circuit["id"]
    assert run["circuit_hash"] == sha256(text) and run["spec"]["circuit_package"] == text
    # a newer version stored after the run was queued changes nothing for the run
    httpx.post(f"{url}/circuits", json={"text": edited(text)}, headers=AUTH)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        state = wait_until(
            lambda: (s := httpx.get(f"{url}/runs/{run['id']}").json())["status"] in ("finished", "failed") and s,
            timeout_s=600, what=f"run {run['id']} (log: {tmp_path / 'worker.log'})",
        )
    finally:
        assert stop(worker) == 0
    assert state["status"] == "finished", state["message"]
    assert state["provenance"]["circuit_hash"] == sha256(text) and state["provenance"]["circuit"] == "miller"
    assert state["evaluations_done"] == 8
    evaluations = httpx.get(f"{url}/runs/{run['id']}/evaluations", params={"limit": 8}).json()["data"]
    assert len(evaluations) == 8 and {e["index"] for e in evaluations} == set(range(8))
    assert [r["id"] for r in httpx.get(f"{url}/runs", params={"topology": "miller"}).json()["data"]] == [run["id"]]
    # the exported deck is the bench's, at the stored design: the compensation capacitor's value is in it
    deck = httpx.get(f"{url}/runs/{run['id']}/evaluations/0/netlist", timeout=120)
    assert deck.status_code == 200, deck.text
    assert ".subckt miller" in deck.text.lower() and ".control" in deck.text and "miller" in deck.headers["content-disposition"]
    assert f"{evaluations[0]['design']['cc']:.12g}" in deck.text or f"{evaluations[0]['design']['cc']:.6g}" in deck.text
    bad = httpx.get(f"{url}/runs/{run['id']}/evaluations/0/netlist", params={"corner": "zz"})
    assert bad.status_code == 422 and "tt" in bad.text
