"""The dashboard in Debian's headless Chromium (playwright), against a real ``gmopt serve`` and ``gmopt worker``.

What a designer does is checked against what the API holds, and the page's numbers against an
independent reading: the test parses the engineering notation itself (prefix table below) and
computes pass/fail, the ideal line and the phase margin's point from the stored data by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from app.db import open_database, session_scope
from app.queue import enqueue
from app.sql_store import SqlRunStore
from gmopt import paper
from gmopt.settings import get_settings
from optimizer.evaluation import STORED_CURVES
from optimizer.problem import candidate_metrics, constraint_names, constraints_of, is_feasible, objectives_of
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord
from ota.netlist import standalone_netlist
from ota.testbench import OtaTestbench
from tests.service import api_server, service_env, start_worker, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "web-test-token"
PREFIX_EXPONENT = {"f": -15, "p": -12, "n": -9, "µ": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12}
# The unit each metric must be shown in (dB and degrees are never prefixed).
UNITS = {"gain_db": "dB", "bandwidth_hz": "Hz", "ugf_hz": "Hz", "phase_margin_deg": "°", "gm_s": "S", "rmse_a": "A",
         "offset_v": "V", "power_w": "W", "saturation_margin_v": "V"}
# eq. 11 relaxed so that a random start of 6 x 2 has feasible designs (tests/test_app_e2e.py: seed 2
# gives 7 of 12), typed as a designer types them: dB, MHz, degrees, mV, uA.
FORM_LIMITS = {"gain_min_db": ("45", 45.0), "bandwidth_min_hz": ("0.001", 1e3), "phase_margin_min_deg": ("-180", -180.0),
               "offset_max_v": ("500", 0.5), "rmse_max_a": ("1000", 1e-3)}
ECHARTS = "echarts.getInstanceByDom(document.getElementById('{}'))?.getOption()"


def shown_value(text: str, unit: str) -> float:
    """'33.51 µA' -> 3.351e-5, '40.23 dB' -> 40.23, '41.17°' -> 41.17: the page's text read back."""
    text = text.replace("−", "-")
    if unit in ("dB", "°"):
        match = re.fullmatch(r"(-?\d+\.\d{2}) ?" + re.escape(unit), text)
        assert match, f"{text!r} is not a value in {unit}"
        return float(match[1])
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?) ([fpnµmkMGT]?)" + re.escape(unit), text)
    assert match, f"{text!r} is not a value in {unit} with an engineering prefix"
    mantissa = float(match[1])
    assert 1 <= abs(mantissa) < 1000 or mantissa == 0, f"{text!r}: engineering notation keeps 1 <= mantissa < 1000"
    return mantissa * 10.0 ** PREFIX_EXPONENT[match[2]]


def assert_metrics_match(page: Page, api: dict) -> dict[str, str]:
    """Every metric row shows the API's value (4 significant digits) in its unit; returns the verdicts."""
    rows = page.locator("#point-metrics tbody tr").all()
    expected = {name for name in api["metrics"] if name in UNITS or name.startswith("margin_v.")} | {"all_saturated"}
    assert {row.get_attribute("data-metric") for row in rows} == expected
    verdicts = {}
    for row in rows:
        name = row.get_attribute("data-metric")
        text = row.locator("td").first.inner_text()
        value = api["metrics"][name]
        if name == "all_saturated":
            assert text == ("yes" if value else "no")
        else:
            unit = UNITS.get(name, "V")
            if unit in ("dB", "°"):
                assert shown_value(text, unit) == pytest.approx(value, abs=0.005), name
            else:
                assert shown_value(text, unit) == pytest.approx(value, rel=5e-4), name
        verdicts[name] = row.locator("td").nth(2).inner_text()
    return verdicts


@pytest.fixture
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, errors


def assert_no_problem_shown(page: Page) -> None:
    """No part of the page failed to draw or update (run.js shows such failures in the banner)."""
    assert page.locator("#page-error").is_hidden(), page.inner_text("#page-error")


def test_a_run_from_the_form_to_a_designs_emulator_loop(tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    env = service_env(workers=1, api_token=TOKEN)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        with api_server(env, tmp_path / "api.log") as url:
            page.goto(f"{url}/#/new")
            page.wait_for_selector("#field-pop_size")
            assert page.locator("#token-box").is_visible()  # the service has a token: the page asks for it
            # prefilled from the defaults
            assert page.input_value("#field-pop_size") == str(paper.NSGA2_POPULATION)
            assert page.input_value("#field-constraints-rmse_max_a") == "50"  # 50 uA
            page.fill("#field-pop_size", "6")
            page.fill("#field-generations", "2")
            page.fill("#field-seed", "2")
            page.select_option("#field-seeding", "random")
            for name, (typed, _) in FORM_LIMITS.items():
                page.fill(f"#field-constraints-{name}", typed)
            page.uncheck("#field-constraints-require_saturation")
            assert not page.is_checked("#field-screen_dc")  # off by default, as in the spec
            page.check("#field-screen_dc")

            page.click("#run-form button[type=submit]")  # no token yet: 401, said beside the token field
            page.wait_for_selector("#token-error:not([hidden])")
            assert "Bearer" in page.inner_text("#token-error")
            page.fill("#token", TOKEN)
            page.dispatch_event("#token", "change")
            page.click("#run-form button[type=submit]")
            page.wait_for_url(re.compile(r".*#/runs/\d+$"))
            run_id = int(page.url.rsplit("/", 1)[1])
            spec = httpx.get(f"{url}/runs/{run_id}").json()["spec"]
            assert (spec["pop_size"], spec["generations"], spec["seed"], spec["seeding"]) == (6, 2, 2, "random")
            for name, (_, si_value) in FORM_LIMITS.items():
                assert spec["constraints"][name] == pytest.approx(si_value, rel=1e-12), name
            assert spec["constraints"]["require_saturation"] is False and spec["screen_dc"] is True

            page.evaluate("window.notReloaded = true")
            page.wait_for_selector("#run-status[data-status=finished]", timeout=180_000)
            assert page.evaluate("window.notReloaded === true")  # followed live, without a reload
            # the DC screen is on, but the typed limits (offset 500 mV, no saturation required) rule nothing out:
            # none skipped, and the progress line says nothing of it (tests/test_optimizer_skip_ac.py counts a screened run)
            assert httpx.get(f"{url}/runs/{run_id}").json()["ac_skipped"] == 0
            assert "AC analyses skipped" not in page.inner_text("#run-progress")
            api_front = httpx.get(f"{url}/runs/{run_id}/front").json()
            assert api_front["count"] > 0
            page.wait_for_function(f"{ECHARTS.format('scatter')}?.series.find(s => s.id === 'front').data.length === {api_front['count']}")
            assert page.locator("#front tbody tr[data-index]").count() == api_front["count"]

            # click a front point on the chart itself, where ECharts drew it
            box = page.locator("#scatter").bounding_box()
            x, y, index = page.evaluate("""() => {
                const chart = echarts.getInstanceByDom(document.getElementById('scatter'));
                const point = chart.getOption().series.find(s => s.id === 'front').data[0].value;
                const [x, y] = chart.convertToPixel({seriesId: 'front'}, [point[0], point[1]]);
                return [x, y, point[2]];
            }""")
            page.mouse.click(box["x"] + x, box["y"] + y)
            page.wait_for_url(f"**#/runs/{run_id}/points/{index}")
            page.wait_for_selector("#point-metrics tbody tr[data-metric=gain_db]")
            assert index in {p["index"] for p in api_front["data"]}
            api = httpx.get(f"{url}/runs/{run_id}/evaluations/{index}").json()
            verdicts = assert_metrics_match(page, api)
            assert verdicts["gain_db"] == "✓ pass" and verdicts["rmse_a"] == "✓ pass"  # a front design meets them all
            assert page.inner_text("#point-feasible") == "on the Pareto front"

            page.fill("#emulator-periods", "2")  # the shortest the API allows: two sine periods
            page.click("#run-emulator")
            page.wait_for_selector("#neuro-results tr[data-kind=emulator] >> nth=1", timeout=120_000)
            stored = httpx.get(f"{url}/runs/{run_id}/points/{index}/results").json()["data"]
            loops = {result["data"]["freq_hz"]: result["data"] for result in stored if result["kind"] == "emulator"}
            assert sorted(loops) == [1e5, 1e6]
            drawn = page.evaluate(f"{ECHARTS.format('loops')}.series.map(s => [s.name, s.data.length])")
            assert [length for _, length in drawn] == [len(loops[1e5]["loop_v"]), len(loops[1e6]["loop_v"])]
            assert [name.split(",")[0] for name, _ in drawn] == ["100 kHz", "1 MHz"]

            # the download button gives what 'gmopt export' writes for this design
            netlist = httpx.get(f"{url}{page.get_attribute('#point-netlist', 'href')}")
            assert netlist.status_code == 200 and "attachment" in netlist.headers["content-disposition"]
            assert netlist.text == standalone_netlist("fig7", api["var"], "generic180", "tt", 27.0)
            page.screenshot(path=tmp_path / "point.png", full_page=True)

            # a long run, cancelled from its page while it waits or runs
            longer = {"topology": "fig7", "pop_size": 6, "generations": 200, "seeding": "random"}
            long_id = httpx.post(f"{url}/runs", json=longer, headers={"Authorization": f"Bearer {TOKEN}"}).json()["id"]
            page.goto(f"{url}/#/runs/{long_id}")
            page.click("#run-cancel")
            page.wait_for_selector("#run-status[data-status=cancelled]", timeout=120_000)
            assert httpx.get(f"{url}/runs/{long_id}").json()["status"] == "cancelled"
            assert page.locator("#run-cancel").is_hidden()
            assert_no_problem_shown(page)
    finally:
        stop(worker)


def test_bad_fields_get_the_apis_message_beside_them(tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    with api_server(service_env(), tmp_path / "api.log") as url:
        direct = httpx.post(f"{url}/runs", json={"topology": "fig7", "generations": 0}).json()
        message = next(problem["msg"] for problem in direct["detail"] if problem["loc"] == ["body", "generations"])
        page.goto(f"{url}/#/new")
        page.wait_for_selector("#field-generations")
        page.fill("#field-generations", "0")
        page.click("#run-form button[type=submit]")
        error = page.locator(".field[data-field=generations] .field-error")
        error.wait_for()
        assert error.inner_text() == message
        assert page.get_attribute("#field-generations", "aria-invalid") == "true"
        assert page.locator(".field[data-field=pop_size] .field-error").inner_text() == ""

        # the service's own limit (pop_size x generations), as the API words it, beside the field it names
        too_many = httpx.post(f"{url}/runs", json={"topology": "fig7", "pop_size": 1000, "generations": 100}).json()
        located = {".".join(map(str, problem["loc"][1:])): problem["msg"] for problem in too_many["detail"]}
        page.fill("#field-generations", "100")
        page.fill("#field-pop_size", "1000")
        page.click("#run-form button[type=submit]")
        for field, message in located.items():
            shown = page.locator(f".field[data-field='{field}'] .field-error")
            shown.wait_for()
            assert shown.inner_text() == message
        assert "20000" in " ".join(located.values())
        assert httpx.get(f"{url}/runs").json()["count"] == 0


def stored_run(testbench: OtaTestbench, widths_um: list[tuple[float, ...]], corner: str = "tt") -> int:
    """A finished run of one generation holding these candidates, scored as the optimizer scores them."""
    settings = get_settings()
    engine = open_database(settings)
    spec = RunSpec(topology="fig7", pop_size=4, generations=1, seeding="random", corners=[corner])
    with session_scope(engine) as session:
        run_id = enqueue(session, spec.model_dump(mode="json"), "anonymous", settings).id
    store = SqlRunStore(engine, run_id)
    records = []
    for index, widths in enumerate(widths_um):
        result = testbench.evaluate_um(widths)
        metrics = candidate_metrics([result.to_dict(curves=False)])
        constraints = constraints_of(metrics, spec)
        records.append(EvaluationRecord(
            index=index, generation=0, var=result.var, widths_um=result.widths_um, metrics=metrics,
            curves={key: getattr(result, key) for key in STORED_CURVES}, objectives=objectives_of(metrics, spec),
            constraints=constraints, feasible=is_feasible(constraints), converged=result.converged, error=result.error,
            wall_time_s=result.sim_time_s,
        ))
    store.add_evaluations(records)
    store.complete_generation(0, b"-", 0.5, list(range(len(records))))
    store.set_status("finished", "stored by the web test")
    return run_id


def test_a_deep_link_opens_a_design_with_its_bode_plot_and_a_comparison(data_dir: Path, tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    table5, table7 = paper.TABLE5_WIDTHS_UM["fig7"], paper.TABLE7_WIDTHS_UM["fig7"]
    with OtaTestbench("fig7") as testbench:
        first = stored_run(testbench, [table7, table5, tuple(w * 1.2 for w in table7)])
    with OtaTestbench("fig7", corner="ss") as testbench:
        second = stored_run(testbench, [table5, tuple(w * 0.9 for w in table5)], corner="ss")
    with api_server(service_env(), tmp_path / "api.log") as url:
        page.goto(f"{url}/#/runs/{first}/points/0")  # Table 7's design: phase margin far below eq. 11's 55 deg
        page.wait_for_selector("#point-metrics tbody tr[data-metric=phase_margin_deg]")
        api = httpx.get(f"{url}/runs/{first}/evaluations/0").json()
        run = httpx.get(f"{url}/runs/{first}").json()
        verdicts = assert_metrics_match(page, api)
        limits = run["spec"]["constraints"]
        m = api["metrics"]
        by_hand = {"gain_db": m["gain_db"] >= limits["gain_min_db"], "bandwidth_hz": m["bandwidth_hz"] >= limits["bandwidth_min_hz"],
                   "phase_margin_deg": m["phase_margin_deg"] >= limits["phase_margin_min_deg"],
                   "offset_v": abs(m["offset_v"]) <= limits["offset_max_v"], "rmse_a": m["rmse_a"] <= limits["rmse_max_a"]}
        assert not by_hand["phase_margin_deg"]  # the case has a failing constraint to show
        assert run["constraint_names"] == constraint_names(RunSpec.model_validate(run["spec"]))
        for name, passes in by_hand.items():
            assert verdicts[name] == ("✓ pass" if passes else "✗ fail"), name

        sizes = [float(cell.get_attribute("data-value")) for cell in page.locator("#point-sizes td[data-value]").all()]
        assert sizes == api["widths_um"]
        assert page.locator("#point-sizes tbody tr").first.locator("td").nth(1).inner_text() == f"{sizes[0]:.4g} µm"

        # Iout-Vin: the ideal line is Iout(0) + Gm * Vin (ota.measure), in the unit its axis names
        transfer = page.evaluate(f"{ECHARTS.format('transfer')}")
        unit = re.search(r"\((\w?)A\)", transfer["yAxis"][0]["name"])[1]
        vin, iout = api["curves"]["vin_v"], api["curves"]["iout_a"]
        at_zero = iout[vin.index(min(vin, key=abs))]
        ideal = [point[1] * 10.0 ** PREFIX_EXPONENT[unit] for point in transfer["series"][1]["data"]]
        assert ideal == pytest.approx([at_zero + m["gm_s"] * v for v in vin], rel=1e-9, abs=1e-12)
        assert len(transfer["series"][0]["data"]) == len(vin) == 41

        # Bode: every stored AC point, the UGF marked on both plots, the margin's point at UGF, -180 + PM
        bode = page.evaluate(f"{ECHARTS.format('bode')}")
        magnitude, phase = bode["series"]
        assert len(magnitude["data"]) == len(api["curves"]["freq_hz"]) == 101
        assert [line["xAxis"] for line in magnitude["markLine"]["data"] if "xAxis" in line][0] == m["ugf_hz"]
        marked = phase["markPoint"]["data"][0]["coord"]
        assert marked == pytest.approx([m["ugf_hz"], m["phase_margin_deg"] - 180.0])
        assert phase["markPoint"]["label"]["formatter"] == f"PM {m['phase_margin_deg']:.2f}°"
        page.screenshot(path=tmp_path / "deep-link.png", full_page=True)

        page.goto(f"{url}/#/compare/{first},{second}")
        page.wait_for_function(f"{ECHARTS.format('compare-fronts')}?.series.length === 2")
        series = page.evaluate(f"{ECHARTS.format('compare-fronts')}.series.map(s => [s.name, s.data.length])")
        fronts = [httpx.get(f"{url}/runs/{run_id}/front").json()["count"] for run_id in (first, second)]
        assert [length for _, length in series] == fronts
        assert series[0][0].startswith(f"#{first} fig7 · generic180 · tt") and series[1][0].startswith(f"#{second} fig7 · generic180 · ss")
        assert_no_problem_shown(page)
