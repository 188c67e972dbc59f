// A run: its facts and live progress, every evaluation (feasible, infeasible, the front), the
// hypervolume and feasible count per generation, and the front's widths in parallel coordinates.

import { authProblem, get, getAll, post, runOptions } from "./api.js";
import { axis, COLORS, draw, grid } from "./charts.js";
import { el, fillTable, setError } from "./dom.js";
import { axisScale, conditions, constraintRule, constraintText, eng, format, num, quantity, registerObjectives, registerVariables, tick } from "./units.js";

// The metrics a designer puts on the axes; the default axes are the first two objectives.
export const AXIS_METRICS = ["rmse_a", "gain_db", "power_w", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "offset_v", "saturation_margin_v"];
export const FRONT_COLUMNS = ["gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w"];
const ACTIVE = ["queued", "running"];
const view = { id: null, run: null, evaluations: [], front: null, hypervolume: [], topology: null, objectives: [], wired: false };

export function cancelButton(run, after) {
  if (!ACTIVE.includes(run.status) || run.cancel_requested) return null;
  const button = el("button", { type: "button", class: "danger small", "data-cancel": run.id }, "Cancel");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await post(`/runs/${run.id}/cancel`);
    } catch (error) {
      const where = authProblem(error) ? "token-error" : "page-error";
      setError(document.getElementById(where), `cancel run ${run.id}: ${error.message}`);
    }
    await after();
  });
  return button;
}

// The metrics a scatter can put on its axes: the objectives', the usual ones, then any other number
// the designs carry (free lengths and biases, follow-ups such as the mismatch yield).
export function axisMetrics(designs, objectives = [], usual = AXIS_METRICS) {
  const extra = new Set();
  for (const design of designs) {
    for (const [name, value] of Object.entries(design.metrics)) {
      if (typeof value === "number" && !name.startsWith("margin_v.") && !["sim_time_s", "temp_c"].includes(name) && !usual.includes(name)) extra.add(name);
    }
  }
  return [...new Set([...objectives, ...usual, ...[...extra].sort()])];
}

export function fillAxisSelect(select, metrics, preferred) {
  const previous = select.value;
  select.replaceChildren(...metrics.map((name) => el("option", { value: name }, quantity(name).label)));
  select.value = metrics.includes(previous) ? previous : preferred;
}

export function runLabel(run) {
  return `#${run.id} ${run.topology} · ${run.technology} · ${conditions(run.spec, "/")}`;
}

// What a run optimizes, as {metric, goal}: a circuit run's from its package, an OTA run's from the
// service's objective names (GET /run-options). A circuit run's goals and variables are registered
// (units.js), so its axes say "higher is better" and its sizes print in their units.
export function runObjectives(run, options) {
  if (!run.circuit) return run.spec.objectives.map((name) => options.objectives[name]);
  const objectives = run.circuit.objectives.map((o) => ({ metric: o.measure, goal: o.goal }));
  registerObjectives(objectives);
  registerVariables(run.circuit.variables);
  return objectives;
}

// The metrics a run's designs carry, in a designer's order: an OTA run's usual ones, or a circuit
// run's testbench measures.
export function runMetrics(run) {
  return run.circuit ? run.circuit.measures : AXIS_METRICS;
}

export async function showRun(id) {
  if (view.id !== id) Object.assign(view, { id, run: null, evaluations: [], front: null, hypervolume: [] });
  const options = await runOptions();
  await load();
  view.topology = view.run.circuit ? null : options.topologies.find((t) => t.name === view.run.topology);
  view.objectives = runObjectives(view.run, options).map((o) => o.metric);
  const metrics = axisMetrics([...view.front.data, ...view.evaluations.slice(0, 50)], view.objectives, runMetrics(view.run));
  fillAxisSelect(document.getElementById("scatter-x"), metrics, view.objectives[0] || metrics[0]);
  fillAxisSelect(document.getElementById("scatter-y"), metrics, view.objectives[1] || metrics.find((m) => m !== view.objectives[0]));
  if (!view.wired) wire();
  render();
  if (view.evaluations.length < view.run.evaluations_done) {
    document.getElementById("scatter-note").textContent = `loading ${view.run.evaluations_done} evaluations…`;
    await loadEvaluations();
    render();
  }
  return async () => {
    if (view.id === id && (await load())) {
      await loadEvaluations();
      render();
    }
  };
}

// The run, and its front and hypervolumes when a generation completed; true when anything changed.
async function load() {
  const before = view.run;
  view.run = await get(`/runs/${view.id}`);
  const changed = !before || before.evaluations_done !== view.run.evaluations_done || before.generation !== view.run.generation
    || before.status !== view.run.status || before.cancel_requested !== view.run.cancel_requested;
  if (changed && (!before || before.generation !== view.run.generation || !view.front)) {
    [view.front, view.hypervolume] = await Promise.all([get(`/runs/${view.id}/front`), get(`/runs/${view.id}/hypervolume`)]);
  }
  return changed;
}

// The evaluations stored since the last look (they are only ever appended).
async function loadEvaluations() {
  view.evaluations.push(...(await getAll(`/runs/${view.id}/evaluations`, view.evaluations.length)));
}

function render() {
  const { run } = view;
  document.title = `gmopt run ${run.id}`;
  document.getElementById("run-title").textContent = `Run #${run.id}: ${run.topology}${run.circuit ? " (circuit package)" : ""} in ${run.technology}`;
  const status = document.getElementById("run-status");
  status.textContent = run.cancel_requested && ACTIVE.includes(run.status) ? `${run.status}, cancel requested` : run.status;
  status.className = `status status-${run.status}`;
  status.dataset.status = run.status;
  status.title = run.message;
  const cancel = document.getElementById("run-cancel");
  cancel.hidden = !ACTIVE.includes(run.status) || run.cancel_requested;
  document.getElementById("run-csv").href = `/runs/${run.id}/front?format=csv`;
  document.getElementById("run-bar").style.width = `${Math.min(100, run.progress_pct)}%`;
  document.querySelector("#view-run [role=progressbar]").setAttribute("aria-valuenow", run.progress_pct);
  const generation = run.generation === null ? "no generation completed yet" : `generation ${run.generation + 1} of ${run.generations}`;
  const speed = run.evaluations_per_s ? ` · ${eng(run.evaluations_per_s, "")} evaluations/s` : "";
  const eta = run.status === "running" && run.eta_s !== null ? ` · about ${eng(run.eta_s, "s", 2)} left` : "";
  const screened = run.ac_skipped ? ` · ${run.ac_skipped} AC analyses skipped by the DC screen` : "";
  document.getElementById("run-progress").textContent =
    `${eng(Math.floor(run.progress_pct), "%")} · ${run.evaluations_done} of ${run.evaluations_total} evaluations · ${generation}${speed}${eta}${screened}${run.message && run.status !== "running" ? ` · ${run.message}` : ""}`;
  // one part that cannot draw (unexpected data) must not stop the others, nor the live updates
  for (const part of [renderFacts, drawScatter, drawHistory, drawParallel, renderFront]) {
    try {
      part(run);
    } catch (error) {
      console.error(error);
      setError(document.getElementById("page-error"), `${part.name}: ${error.message}`);
    }
  }
}

function renderFacts(run) {
  const spec = run.spec, circuit = run.circuit;
  const limitText = run.constraint_names.map((name) => {
    const rule = constraintRule(name);
    if (circuit && name === "saturation") return "every checked device saturated (VDS ≥ VDSAT)";
    return rule.limit || rule.value !== undefined ? `${quantity(rule.metric).label} ${constraintText(name, spec)}` : constraintText(name, spec);
  });
  const facts = [
    ["Circuit", circuit ? `${circuit.name}: ${circuit.description}`.trim() : view.topology ? view.topology.title : run.topology],
    ...(circuit ? [["Package", `testbench ${circuit.testbench}, ${circuit.variables.length} variables, sha256 ${circuit.content_hash.slice(0, 12)}…`]] : []),
    ["Technology", run.technology],
    ["Conditions", conditions(spec)],
    ["Search", `NSGA-II, population ${run.pop_size} × ${run.generations} generations, seed ${run.seed}, ${spec.seeding === "gmid" ? (circuit ? "seeded around the package's nominal values" : "gm/ID-seeded") : "random"} start`],
    ["Objectives", view.objectives.map((metric) => { const q = quantity(metric); return `${q.goal === "max" ? "maximise" : "minimise"} ${q.label}`; }).join(", ")],
    ["Constraints", limitText.join("; ")],
    ["Hypervolume", run.hypervolume === null ? "—" : eng(num(run.hypervolume), "")],
    ["Provenance", [run.gmopt_version && `gmopt ${run.gmopt_version}`, run.ngspice_version && `ngspice ${run.ngspice_version}`].filter(Boolean).join(", ") || "—"],
  ];
  document.getElementById("run-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function wire() {
  view.wired = true;
  for (const id of ["scatter-x", "scatter-y"]) document.getElementById(id).addEventListener("change", drawScatter);
  document.getElementById("run-cancel").addEventListener("click", async (event) => {
    event.target.disabled = true;
    try {
      await post(`/runs/${view.id}/cancel`);
      if (await load()) render();
    } catch (error) {
      setError(document.getElementById(authProblem(error) ? "token-error" : "page-error"), `cancel: ${error.message}`);
    }
    event.target.disabled = false;
  });
}

function openPoint(index) {
  location.hash = `#/runs/${view.id}/points/${index}`;
}

// --- every evaluation -----------------------------------------------------------------------
function drawScatter() {
  const xName = document.getElementById("scatter-x").value, yName = document.getElementById("scatter-y").value;
  // the front comes with the run's front (drawn before every evaluation has loaded), the rest from the evaluations
  const front = view.front?.data || [];
  const seen = new Set(front.map((p) => p.var.join(","))), groups = { infeasible: [], feasible: [], front: [] };
  let failed = 0, repeats = 0;
  const place = (e, group) => {
    const x = num(e.metrics[xName]), y = num(e.metrics[yName]);
    if (!e.converged || !Number.isFinite(x) || !Number.isFinite(y)) failed += 1;
    else groups[group].push([x, y, e.index, e.generation]);
  };
  front.forEach((p) => place(p, "front"));
  const frontIndices = new Set(front.map((p) => p.index));
  for (const e of view.evaluations) {
    const key = e.var.join(",");
    if (seen.has(key)) { repeats += frontIndices.has(e.index) ? 0 : 1; continue; }
    seen.add(key);
    place(e, e.feasible ? "feasible" : "infeasible");
  }
  const all = [...groups.infeasible, ...groups.feasible, ...groups.front];
  const edges = { showMinLabel: false, showMaxLabel: false, formatter: (v) => tick(v) }; // the zoom's ends are not round
  const x = axis(xName, all.map((p) => p[0]), { axisLabel: edges }), y = axis(yName, all.map((p) => p[1]), { nameGap: 48, axisLabel: edges });
  const scaled = (points) => points.map(([a, b, index, generation]) => ({ value: [x.scale.scale(a), y.scale.scale(b), index, generation], raw: [a, b] }));
  const series = [
    { id: "infeasible", name: `infeasible (${groups.infeasible.length})`, type: "scatter", symbol: "circle", symbolSize: 6,
      itemStyle: { color: "rgba(150,150,150,0.45)", borderColor: "#999" }, data: scaled(groups.infeasible) },
    { id: "feasible", name: `feasible (${groups.feasible.length})`, type: "scatter", symbolSize: 8, itemStyle: { color: COLORS[0], opacity: 0.75 },
      data: scaled(groups.feasible) },
    { id: "front", name: `Pareto front (${groups.front.length})`, type: "scatter", symbol: "diamond", symbolSize: 15,
      itemStyle: { color: COLORS[1], borderColor: "#7a3b0c", borderWidth: 1 }, emphasis: { scale: 1.4 }, data: scaled(groups.front), z: 3 },
  ];
  const chart = draw(document.getElementById("scatter"), {
    grid: grid({ left: 80, top: 50 }),
    legend: { top: 5 },
    tooltip: { trigger: "item", formatter: (p) => `Design #${p.value[2]} (generation ${p.value[3]})<br>${quantity(xName).label}: ${format(xName, p.data.raw[0])}<br>${quantity(yName).label}: ${format(yName, p.data.raw[1])}<br><i>click to open</i>` },
    xAxis: x.axis, yAxis: y.axis,
    dataZoom: [
      { type: "inside", xAxisIndex: 0, filterMode: "none", ...focus(all.map((p) => x.scale.scale(p[0])), groups.front.map((p) => x.scale.scale(p[0])), x.scale.log) },
      { type: "inside", yAxisIndex: 0, filterMode: "none", ...focus(all.map((p) => y.scale.scale(p[1])), groups.front.map((p) => y.scale.scale(p[1])), y.scale.log) },
    ],
    toolbox: { right: 10, feature: { restore: { title: "reset zoom" }, saveAsImage: { title: "save image" } } },
    series,
  });
  chart.off("click");
  chart.on("click", (p) => openPoint(p.value[2]));
  document.getElementById("scatter-note").textContent =
    `${all.length} distinct designs${failed ? `, ${failed} that ngspice could not simulate (not drawn)` : ""}${repeats ? `, ${repeats} repeated designs not drawn again` : ""}. Scroll to zoom; click a point to open the design.`;
}

// The first view of an axis: the middle 96 % of the designs and every front point, so that a few
// far-off candidates (a -20 dB gain) do not squeeze the front into a corner; "reset zoom" shows all.
function focus(values, front, log) {
  if (values.length < 20) return {};
  const sorted = [...values].sort((a, b) => a - b);
  const quantile = (q) => sorted[Math.floor(q * (sorted.length - 1))];
  let low = Math.min(quantile(0.02), ...front), high = Math.max(quantile(0.98), ...front);
  if (log) return { startValue: low / 1.2, endValue: high * 1.2 };
  const pad = (high - low) * 0.06 || Math.abs(high) * 0.05 || 1;
  return { startValue: low - pad, endValue: high + pad };
}

// --- convergence ----------------------------------------------------------------------------
function drawHistory() {
  const generations = Math.max(view.run.generation ?? -1, ...view.evaluations.map((e) => e.generation)) + 1;
  const feasible = Array.from({ length: generations }, () => 0);
  for (const e of view.evaluations) if (e.feasible) feasible[e.generation] += 1;
  const hypervolume = view.hypervolume.data.map((p) => [p.generation, num(p.hypervolume)]);
  draw(document.getElementById("history"), {
    grid: grid({ right: 70, top: 50 }),
    legend: { top: 5 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", name: "Generation", nameLocation: "middle", nameGap: 30, data: feasible.map((_, g) => g) },
    yAxis: [
      { type: "value", name: "Hypervolume", nameLocation: "middle", nameGap: 50, scale: true, splitLine: { lineStyle: { color: "#eee" } } },
      { type: "value", name: "Feasible evaluations", nameLocation: "middle", nameGap: 40, min: 0, max: view.run.pop_size, splitLine: { show: false } },
    ],
    series: [
      { name: "feasible evaluations", type: "bar", yAxisIndex: 1, data: feasible, itemStyle: { color: "rgba(58,157,93,0.35)" } },
      { name: "hypervolume", type: "line", yAxisIndex: 0, data: hypervolume.map(([, v]) => v), symbolSize: 7, lineStyle: { width: 3 }, itemStyle: { color: COLORS[0] } },
    ],
  });
}

// --- the front: widths and objectives -------------------------------------------------------
function drawParallel() {
  const points = view.front?.data || [];
  const objectiveMetrics = view.objectives;
  document.getElementById("parallel-title").textContent = `Front: ${view.run.circuit ? "design values" : "widths"} and objectives`;
  const sizes = view.run.circuit
    ? view.run.circuit.variables.map((v) => ({ label: v.devices.length ? `${v.name} (${v.devices.join(", ")})` : v.name,
      values: points.map((p) => num(p.design[v.name])), name: `design.${v.name}` }))
    : (view.topology ? view.topology.variables : []).map((v, i) => ({ label: `${v.label} (${v.devices.join(", ")})`,
      values: points.map((p) => num(p.widths_um[i]) * 1e-6), name: "width_m" }));
  const dims = [
    ...sizes,
    ...objectiveMetrics.map((name) => ({ label: quantity(name).label, values: points.map((p) => num(p.metrics[name])), name })),
  ].map((d) => ({ ...d, scale: axisScale(d.name, d.values) }));
  const rmse = dims.findIndex((d) => d.name === objectiveMetrics[0]); // lines coloured by the first objective (an OTA run's linearity)
  const shown = rmse < 0 ? [] : dims[rmse].values.map(dims[rmse].scale.scale).filter(Number.isFinite);
  const range = shown.length > 1 && Math.min(...shown) < Math.max(...shown) ? [Math.min(...shown), Math.max(...shown)] : null;
  const chart = draw(document.getElementById("parallel"), {
    parallel: { left: 60, right: 130, top: 50, bottom: 30, parallelAxisDefault: { nameLocation: "end", nameGap: 18, nameTextStyle: { fontSize: 12 }, scale: true } },
    parallelAxis: dims.map((d, i) => ({
      dim: i, name: `${d.label}\n${d.scale.unit ? `(${d.scale.unit})` : ""}${d.scale.label === quantity(d.name).label && quantity(d.name).goal ? (quantity(d.name).goal === "max" ? " ↑" : " ↓") : ""}`,
      axisLabel: { formatter: (v) => tick(v, 3) },
    })),
    tooltip: { trigger: "item", formatter: (p) => `Design #${points[p.dataIndex].index}<br>${dims.map((d) => `${d.label}: ${d.name === "width_m" ? eng(d.values[p.dataIndex], "m") : format(d.name, d.values[p.dataIndex])}`).join("<br>")}` },
    visualMap: !range ? undefined : {
      type: "continuous", dimension: rmse, orient: "vertical", right: 8, top: "middle", itemHeight: 160, calculable: false,
      min: range[0], max: range[1],
      text: [`${dims[rmse].scale.label}${dims[rmse].scale.unit ? ` (${dims[rmse].scale.unit})` : ""}`, ""], inRange: { color: ["#1a9850", "#fee08b", "#d73027"] }, formatter: (v) => tick(v, 3),
    },
    series: [{
      type: "parallel", lineStyle: { width: 2, opacity: 0.75, color: COLORS[1] }, emphasis: { lineStyle: { width: 4, opacity: 1 } },
      data: points.map((_, row) => dims.map((d) => d.scale.scale(d.values[row]))),
    }],
  });
  chart.off("click");
  chart.on("click", (p) => openPoint(points[p.dataIndex].index));
}

// An OTA run's front by linearity; a circuit run's by its first objective, best first.
function renderFront() {
  const first = view.run.circuit ? view.objectives[0] : "rmse_a", sign = quantity(first).goal === "max" ? -1 : 1;
  const points = [...(view.front?.data || [])].sort((a, b) => sign * (num(a.metrics[first]) - num(b.metrics[first])));
  document.getElementById("front-count").textContent = view.front
    ? `${points.length} designs, generation ${view.front.generation ?? "—"}, sorted by ${view.run.circuit ? quantity(first).label : "linearity"}` : "";
  const columns = frontColumns(view.run);
  const header = ["Design", "Gen.", ...columns.map((name) => quantity(name).label)];
  const rows = points.map((p) => {
    const row = el("tr", { tabindex: 0, "data-index": p.index, "aria-label": `open design ${p.index}` },
      el("td", {}, el("a", { href: `#/runs/${view.id}/points/${p.index}`, tabindex: -1 }, `#${p.index}`)),
      el("td", { class: "num" }, p.generation),
      ...columns.map((name) => el("td", { class: "num", "data-column": name }, format(name, name.startsWith("design.") ? p.design[name.slice(7)] : p.metrics[name]))));
    row.addEventListener("click", () => openPoint(p.index));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openPoint(p.index); } });
    return row;
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: header.length, class: "empty" }, "No feasible design yet.")));
  fillTable(document.getElementById("front"), header, rows);
}

// A circuit run's front columns: what it optimizes and limits, its variables, then its other measures.
function frontColumns(run) {
  if (!run.circuit) return FRONT_COLUMNS;
  const { objectives, constraints, variables, measures } = run.circuit;
  const chosen = [...objectives.map((o) => o.measure), ...constraints.map((c) => c.measure)];
  return [...new Set([...chosen, ...variables.map((v) => `design.${v.name}`), ...measures])];
}
