"""The web page in Debian's headless Chromium (playwright), served by a real ``gmopt serve``.

Two runs are stored with candidates simulated by ngspice; the test shows one run's front, clicks
a point and checks that the page shows that point's widths and metrics exactly as the API has
them, draws its Iout-Vin curve, and overlays the second run for comparison.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from app.db import open_database, session_scope
from app.queue import enqueue
from app.sql_store import SqlRunStore
from gmopt import paper
from gmopt.settings import get_settings
from optimizer.evaluation import STORED_CURVES
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord
from ota.testbench import OtaTestbench
from tests.service import api_server, service_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCALARS = ("gain_db", "bandwidth_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w", "all_saturated")


def simulated_run(testbench: OtaTestbench, widths_um: list[tuple[float, ...]]) -> int:
    """A finished-looking run whose one generation holds these candidates, all on its front."""
    settings = get_settings()
    engine = open_database(settings)
    spec = RunSpec(topology="fig7", pop_size=4, generations=1, seeding="random").model_dump(mode="json")
    with session_scope(engine) as session:
        run_id = enqueue(session, spec, "anonymous", settings).id
    store = SqlRunStore(engine, run_id)
    records = []
    for index, widths in enumerate(widths_um):
        result = testbench.evaluate_um(widths)
        metrics = {name: getattr(result, name) for name in SCALARS}
        records.append(EvaluationRecord(
            index=index, generation=0, var=result.var, widths_um=result.widths_um, metrics=metrics,
            curves={key: getattr(result, key) for key in STORED_CURVES},
            objectives=[result.rmse_a, -result.gain_db, result.power_w], constraints=[], feasible=True,
            converged=result.converged, error=result.error, wall_time_s=result.sim_time_s,
        ))
    store.add_evaluations(records)
    store.complete_generation(0, b"-", 0.5, list(range(len(records))))
    store.set_status("finished", "stored by the web test")
    return run_id


def scaled(widths: tuple[float, ...], factor: float) -> tuple[float, ...]:
    return tuple(w * factor for w in widths)


def test_click_a_point_shows_the_apis_metrics_and_curve(data_dir: Path, tmp_path: Path) -> None:
    table5, table7 = paper.TABLE5_WIDTHS_UM["fig7"], paper.TABLE7_WIDTHS_UM["fig7"]
    with OtaTestbench("fig7") as testbench:
        first = simulated_run(testbench, [table7, table5, scaled(table7, 1.2), scaled(table7, 0.8)])
        second = simulated_run(testbench, [scaled(table5, 1.1), scaled(table5, 0.9), scaled(table7, 0.6)])
    with api_server(service_env(), tmp_path / "api.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.locator(f"input[data-show='{first}']").check()
        page.wait_for_selector(f"circle.point[data-run='{first}']")
        assert page.locator(f"circle.point[data-run='{first}']").count() == 4

        page.locator(f"circle.point[data-run='{first}'][data-index='2']").click()
        page.wait_for_selector("#metrics tr[data-metric='gain_db']")
        api = httpx.get(f"{url}/runs/{first}/evaluations/2").json()
        shown = {row.get_attribute("data-metric"): (json.loads(row.locator("td").get_attribute("data-value")), row.locator("td").inner_text())
                 for row in page.locator("#metrics tr").all()}
        assert set(shown) == set(api["metrics"])
        for name, (value, text) in shown.items():
            assert value == api["metrics"][name], name
            if isinstance(value, float):
                assert float(text) == pytest.approx(value, rel=5e-4), name  # shown with 4 significant digits
        widths = [float(cell.get_attribute("data-value")) for cell in page.locator("#widths td[data-value]").all()]
        assert widths == api["widths_um"]
        assert widths == pytest.approx([w * 1.2 for w in table7], abs=paper.LAMBDA_M * 1e6 / 2)  # rounded to lambda
        points = page.locator("#curve-line").get_attribute("d").count("L") + 1
        assert points == sum(1 for v, i in zip(api["curves"]["vin_v"], api["curves"]["iout_a"]) if math.isfinite(i))

        page.locator(f"input[data-compare='{second}']").check()
        page.wait_for_selector(f"circle.point.run-b[data-run='{second}']")
        assert page.locator("circle.point.run-b").count() == 3 and page.locator("circle.point.run-a").count() == 4
        browser.close()
