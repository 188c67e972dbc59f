// One design in full: metrics against the run's spec, sizes, Iout-Vin with its ideal line, the
// Bode plot with UGF and phase margin, the netlist, and the design in the emulator and the neuron.

import { ApiError, authProblem, get, post, runOptions } from "./api.js";
import { axis, COLORS, draw, grid } from "./charts.js";
import { el, fillTable, setError } from "./dom.js";
import { runObjectives } from "./run.js";
import { axisScale, conditions, constraintRows, eng, format, KIND_LABELS, num, quantity, tick } from "./units.js";

// Rows of the metrics table, in a designer's order; the device margins follow, bookkeeping goes to the subtitle.
const MAIN_METRICS = ["gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w", "saturation_margin_v", "all_saturated"];
// not measures: shown in the subtitle (error, the reason a DC-screened candidate had no AC analysis) or not at all
const BOOKKEEPING = ["converged", "error", "ac_skipped", "topology", "technology", "corner", "temp_c", "sim_time_s"];
const TITLES = { // the cards that differ between an OTA run and a circuit run
  ota: { sizes: "Sizes", transfer: "Iout against Vin", bode: "Open-loop Bode plot", netlist: "Download netlist" },
  circuit: { sizes: "Design values", transfer: "Step response in unity-gain feedback", bode: "Open-loop Bode plot (DC feedback path sets the operating point)", netlist: "Download deck" },
};
export const EMULATOR_FREQUENCIES_HZ = [1e5, 1e6];
const view = { runId: null, index: null, run: null, point: null };

export async function showPoint(runId, index) {
  const [run, point, front, options, technologies] = await Promise.all([
    get(`/runs/${runId}`), get(`/runs/${runId}/evaluations/${index}`), get(`/runs/${runId}/front`), runOptions(), get("/technologies"),
  ]);
  if (view.runId === null) wireButtons();
  Object.assign(view, { runId, index, run, point });
  const topology = run.circuit ? null : options.topologies.find((t) => t.name === run.topology);
  const objectives = runObjectives(run, options);
  const titles = TITLES[run.circuit ? "circuit" : "ota"];
  for (const [part, text] of Object.entries(titles)) document.querySelector(`[data-title=${part}]`).textContent = text;
  document.getElementById("point-neuro").hidden = Boolean(run.circuit); // the emulator and the neuron take an OTA
  const onFront = front.data.some((p) => p.index === index);
  document.title = `gmopt run ${runId} design ${index}`;
  document.getElementById("point-title").textContent = `Design #${index} of run #${runId}`;
  const badge = document.getElementById("point-feasible");
  badge.textContent = onFront ? "on the Pareto front" : point.feasible ? "feasible" : point.converged ? "infeasible" : "not simulated";
  badge.className = `status ${point.feasible ? "status-finished" : "status-failed"}`;
  const m = point.metrics;
  document.getElementById("point-subtitle").textContent =
    `${run.circuit ? `${run.circuit.name} (testbench ${run.circuit.testbench})` : topology ? topology.title : run.topology} · ${run.technology} · generation ${point.generation} · ` +
    `metrics: worst case over ${conditions(run.spec)}; ` +
    `curves at ${m.corner ?? run.spec.corners[0]}, ${eng(m.temp_c ?? run.spec.temps_c[0], "°C")}` +
    (point.error ? ` · ngspice: ${point.error}` : "") + (m.ac_skipped ? ` · no AC analysis: ${m.ac_skipped}` : "");
  document.getElementById("point-back").href = `#/runs/${runId}`;
  const netlist = document.getElementById("point-netlist");
  netlist.href = `/runs/${runId}/evaluations/${index}/netlist`;
  renderMetrics(run, point, objectives);
  if (run.circuit) renderDesign(run.circuit, point);
  else renderSizes(topology, technologies.find((t) => t.name === run.technology), run, point);
  if (run.circuit) drawStep(point); else drawTransfer(point);
  drawBode(point);
  if (run.circuit) return null;
  setError(document.getElementById("neuro-error"), "");
  // the emulator and the neuron take an OTA's widths only (neuromorphic.circuit.Setup)
  const free = [...(run.spec.free?.lengths || []).map((label) => `L of ${label}`), ...(run.spec.free?.bias_pins || [])];
  for (const id of ["run-emulator", "run-neuron"]) document.getElementById(id).disabled = free.length > 0;
  document.getElementById("neuro-status").textContent = free.length
    ? `not available: this run also optimizes ${free.join(", ")}, and the emulator and the neuron take widths only` : "";
  await showResults();
  return null;
}

// Free lengths (l_w1_um) and bias voltages (vb_v) are sizes, shown with the widths.
function isSize(run, name) {
  return /^l_\w+_um$/.test(name) || Object.keys(run.spec.bias_v || {}).some((pin) => name === `${pin}_v`);
}

function renderMetrics(run, point, objectives) {
  const checks = constraintRows(run, point);
  const goals = Object.fromEntries(objectives.map(({ metric, goal }) => [metric, goal]));
  const main = run.circuit ? run.circuit.measures : MAIN_METRICS;
  const others = Object.keys(point.metrics).filter((name) => !main.includes(name) && !BOOKKEEPING.includes(name)
    && !name.startsWith("margin_v.") && !isSize(run, name)).sort();
  const unmeasured = checks.map((c) => c.metric).filter((name) => !(name in point.metrics)); // e.g. a yield never computed
  const names = [...new Set([...main.filter((name) => name in point.metrics), ...others, ...unmeasured,
    ...Object.keys(point.metrics).filter((name) => name.startsWith("margin_v.")).sort()])];
  const rows = names.map((name) => {
    const value = point.metrics[name];
    const own = checks.filter((c) => c.metric === name);
    const spec = [...own.map((c) => c.limit), goals[name] ? (goals[name] === "max" ? "maximised" : "minimised") : ""].filter(Boolean).join(" · ");
    const verdict = own.length === 0 ? "" : own.every((c) => c.pass) ? "pass" : "fail";
    return el("tr", { "data-metric": name, class: name.startsWith("margin_v.") ? "minor" : "" },
      el("th", { scope: "row" }, quantity(name).label),
      el("td", { class: "num", "data-value": JSON.stringify(value ?? null) }, format(name, value)),
      el("td", {}, spec),
      el("td", {}, verdict ? el("span", { class: `verdict ${verdict}`, "data-verdict": verdict }, verdict === "pass" ? "✓ pass" : "✗ fail") : ""));
  });
  fillTable(document.getElementById("point-metrics"), null, rows);
}

// A circuit run's variables: kind, devices, the value in its unit (20 µA, 2 pF, 1.2 µm) and the range searched.
function renderDesign(circuit, point) {
  const rows = circuit.variables.map((v) => el("tr", { "data-variable": v.name },
    el("th", { scope: "row" }, v.name),
    el("td", {}, KIND_LABELS[v.kind] || v.kind),
    el("td", {}, v.devices.join(", ")),
    el("td", { class: "num", "data-value": JSON.stringify(point.design[v.name] ?? null) }, format(`design.${v.name}`, point.design[v.name])),
    el("td", { class: "num" }, `${format(`design.${v.name}`, v.min)} to ${format(`design.${v.name}`, v.max)}${v.scale === "log" ? " (log)" : ""}`)));
  fillTable(document.getElementById("point-sizes"), ["Variable", "Kind", "Devices", "Value", "Searched"], rows);
  document.getElementById("point-biases-box").hidden = true;
}

// Widths (and lengths: the technology's unless the run frees them), then the bias voltages.
function renderSizes(topology, technology, run, point) {
  const variables = topology ? topology.variables : point.var.map((_, i) => ({ label: `W${i + 1}`, devices: [] }));
  const rows = variables.map((v, i) => {
    const free = point.metrics[`l_${v.label.toLowerCase()}_um`];
    const length = free !== undefined ? format(`l_${v.label.toLowerCase()}_um`, free) : technology ? eng(technology.length_m, "m") : "";
    return el("tr", { "data-variable": v.label },
      el("th", { scope: "row" }, v.label),
      el("td", {}, v.devices.join(", ")),
      el("td", { class: "num", "data-value": point.widths_um[i] }, eng(num(point.widths_um[i]) * 1e-6, "m")),
      el("td", { class: "num" }, free !== undefined ? el("strong", { title: "optimized" }, length) : length),
      el("td", { class: "num" }, point.var[i]));
  });
  fillTable(document.getElementById("point-sizes"), ["Variable", "Devices", "W", "L", "W / λ"], rows);
  const biases = Object.entries(run.spec.bias_v || {}).map(([pin, fixed]) => {
    const free = point.metrics[`${pin}_v`];
    return el("tr", { "data-bias": pin }, el("th", { scope: "row" }, pin),
      el("td", { class: "num" }, eng(free ?? fixed, "V")), el("td", {}, free !== undefined ? "optimized" : "fixed for the run"));
  });
  document.getElementById("point-biases-box").hidden = biases.length === 0;
  fillTable(document.getElementById("point-biases"), null, biases);
}

function empty(element, text) {
  draw(element, { title: { text, left: "center", top: "middle", textStyle: { color: "#888", fontSize: 14, fontWeight: "normal" } } });
}

// --- Iout against Vin, and the ideal line the RMSE is taken against (ota.measure) -----------------
function drawTransfer(point) {
  const element = document.getElementById("transfer");
  const vin = (point.curves.vin_v || []).map(num), iout = (point.curves.iout_a || []).map(num);
  const gm = num(point.metrics.gm_s);
  if (vin.length < 2 || !Number.isFinite(gm)) return empty(element, "No DC sweep stored for this design");
  const atZero = interpolate(vin, iout, 0);
  const ideal = vin.map((v) => atZero + gm * v);
  const deviation = iout.map((i, k) => i - ideal[k]);
  const x = axis("vin_v", vin, { min: "dataMin", max: "dataMax" }), y = axis("iout_a", [...iout, ...ideal], { nameGap: 50 });
  const error = axis("current_a", deviation, { nameGap: 50, gridIndex: 1, scale: false });
  error.axis.name = `Iout − ideal (${error.scale.unit})`;
  const pairs = (ys, scale) => vin.map((v, k) => [x.scale.scale(v), scale(ys[k])]);
  draw(element, {
    title: { text: `Gm ${format("gm_s", gm)} · RMSE ${format("rmse_a", point.metrics.rmse_a)} · offset ${format("offset_v", point.metrics.offset_v)}`, left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
    grid: [grid({ left: 80, top: 60, height: "56%" }), grid({ left: 80, top: "73%", bottom: 45 })],
    legend: { top: 26 },
    tooltip: { trigger: "axis", axisPointer: { link: [{ xAxisIndex: "all" }] }, valueFormatter: (v) => tick(v) },
    axisPointer: { link: [{ xAxisIndex: "all" }] },
    xAxis: [{ ...x.axis, name: "", axisLabel: { show: false } }, { ...x.axis, gridIndex: 1, nameGap: 26 }],
    yAxis: [y.axis, error.axis],
    series: [
      { name: "simulated Iout", type: "line", data: pairs(iout, y.scale.scale), symbolSize: 5, lineStyle: { width: 3 }, itemStyle: { color: COLORS[0] } },
      { name: "ideal: Iout(0) + Gm·Vin", type: "line", data: pairs(ideal, y.scale.scale), showSymbol: false, lineStyle: { type: "dashed", width: 2 }, itemStyle: { color: "#333" } },
      { name: "deviation from ideal", type: "line", xAxisIndex: 1, yAxisIndex: 1, data: pairs(deviation, error.scale.scale), showSymbol: false,
        lineStyle: { width: 2 }, itemStyle: { color: COLORS[4] }, areaStyle: { opacity: 0.12 } },
    ],
  });
}

// --- the op-amp bench's step: the output in unity-gain feedback, slew rate and 1 % settling marked ---
function drawStep(point) {
  const element = document.getElementById("transfer");
  const time = (point.curves.tran_time_s || []).map(num), out = (point.curves.tran_out_v || []).map(num);
  if (time.length < 2) return empty(element, "No step response stored for this design (no unity-gain crossing to size the step by)");
  // the window's end (a multiple of the UGF's time constant) is not round: no label there
  const x = axis("tran_time_s", time, { min: "dataMin", max: "dataMax", axisLabel: { showMaxLabel: false, formatter: (v) => tick(v) } });
  const y = axis("tran_out_v", out, { nameGap: 50 });
  const settling = num(point.metrics.settling_time_s);
  draw(element, {
    title: { text: `Slew rate ${format("slew_rate_v_per_s", point.metrics.slew_rate_v_per_s)} · 1 % settling ${format("settling_time_s", settling)}`, left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
    grid: grid({ left: 80, top: 60 }),
    tooltip: { trigger: "axis", valueFormatter: (v) => tick(v) },
    xAxis: x.axis, yAxis: y.axis,
    series: [{
      name: "output", type: "line", showSymbol: false, lineStyle: { width: 2.5 }, itemStyle: { color: COLORS[0] },
      data: time.map((t, k) => [x.scale.scale(t), y.scale.scale(out[k])]),
      markLine: Number.isFinite(settling) ? { symbol: "none", silent: true, data: [{ xAxis: x.scale.scale(time[0] + settling),
        label: { formatter: `settled (1 %) ${format("settling_time_s", settling)}`, position: "end" }, lineStyle: { color: COLORS[2], type: "dashed", width: 1.5 } }] } : undefined,
    }],
  });
}

function interpolate(xs, ys, at) {
  for (let k = 1; k < xs.length; k += 1) {
    if ((xs[k - 1] - at) * (xs[k] - at) <= 0) return ys[k - 1] + ((ys[k] - ys[k - 1]) * (at - xs[k - 1])) / (xs[k] - xs[k - 1] || 1);
  }
  return NaN;
}

// --- Bode: magnitude and phase (relative to the DC phase, as ota.measure takes the margin) -------
function drawBode(point) {
  const element = document.getElementById("bode");
  const f = (point.curves.freq_hz || []).map(num), magnitude = (point.curves.ac_magnitude_db || []).map(num);
  if (f.length < 2) return empty(element, "No AC response stored for this design (the run predates stored AC curves)");
  const raw = (point.curves.ac_phase_deg || []).map(num);
  const phase = raw.map((p) => p - 180 * Math.round(raw[0] / 180));
  const ugf = num(point.metrics.ugf_hz), bandwidth = num(point.metrics.bandwidth_hz), margin = num(point.metrics.phase_margin_deg);
  const hz = (v) => eng(v, "Hz", 3);
  const vertical = (value, label, color) => (Number.isFinite(value) ? [{ xAxis: value, label: { formatter: label, position: "end" }, lineStyle: { color, type: "dashed", width: 1.5 } }] : []);
  const marks = (extra) => ({ symbol: "none", silent: true, data: [...vertical(ugf, `UGF ${hz(ugf)}`, COLORS[4]), ...extra] });
  const xAxis = (index) => ({
    // one tick per decade (ECharts takes a log axis's interval in decades)
    type: "log", gridIndex: index, min: 10 ** Math.floor(Math.log10(f[0]) + 1e-9), max: 10 ** Math.ceil(Math.log10(f[f.length - 1]) - 1e-9), interval: 1, name: index ? "Frequency" : "", nameLocation: "middle", nameGap: 28,
    axisLabel: { formatter: (v) => hz(v) }, splitLine: { lineStyle: { color: "#eee" } }, minorSplitLine: { show: true, lineStyle: { color: "#f6f6f6" } },
  });
  const phaseAtUgf = Number.isFinite(margin) ? margin - 180 : NaN;
  draw(element, {
    title: { text: `DC gain ${format("gain_db", point.metrics.gain_db)} · ${"gbw_hz" in point.metrics ? `GBW ${hz(num(point.metrics.gbw_hz))}` : `−3 dB ${hz(bandwidth)}`} · UGF ${hz(ugf)} · phase margin ${format("phase_margin_deg", margin)}`, left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
    grid: [grid({ top: 45, height: "36%", left: 80 }), grid({ top: "58%", height: "30%", left: 80 })],
    tooltip: { trigger: "axis", axisPointer: { link: [{ xAxisIndex: "all" }] }, formatter: (items) => `${hz(items[0].value[0])}<br>${items.map((i) => `${i.seriesName}: ${tick(i.value[1])}`).join("<br>")}` },
    axisPointer: { link: [{ xAxisIndex: "all" }] },
    xAxis: [xAxis(0), xAxis(1)],
    yAxis: [
      { type: "value", gridIndex: 0, name: "Magnitude (dB)", nameLocation: "middle", nameGap: 45, splitLine: { lineStyle: { color: "#eee" } } },
      { type: "value", gridIndex: 1, name: "Phase (°)", nameLocation: "middle", nameGap: 45, interval: 90, splitLine: { lineStyle: { color: "#eee" } },
        min: Math.floor(Math.min(...phase, -180) / 90) * 90, max: Math.ceil(Math.max(...phase, 0) / 90) * 90 },
    ],
    series: [
      { name: "magnitude (dB)", type: "line", xAxisIndex: 0, yAxisIndex: 0, showSymbol: false, lineStyle: { width: 2.5 }, itemStyle: { color: COLORS[0] },
        data: f.map((v, k) => [v, magnitude[k]]),
        markLine: marks([{ yAxis: 0, label: { formatter: "0 dB", position: "insideStartTop" }, lineStyle: { color: "#999" } }, ...vertical(bandwidth, `−3 dB ${hz(bandwidth)}`, COLORS[2])]) },
      { name: "phase (°)", type: "line", xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, lineStyle: { width: 2.5 }, itemStyle: { color: COLORS[1] },
        data: f.map((v, k) => [v, phase[k]]),
        markLine: marks([{ yAxis: -180, label: { formatter: "−180°", position: "insideStartTop" }, lineStyle: { color: "#999" } }]),
        markPoint: Number.isFinite(phaseAtUgf) ? { symbol: "circle", symbolSize: 10, itemStyle: { color: COLORS[4] },
          label: { formatter: `PM ${format("phase_margin_deg", margin)}`, position: "right", fontWeight: "bold", color: COLORS[4] },
          data: [{ coord: [ugf, phaseAtUgf] }] } : undefined },
    ],
  });
}

// --- the design in the emulator and the neuron --------------------------------------------------
function wireButtons() {
  document.getElementById("run-emulator").addEventListener("click", () => simulate("emulator"));
  document.getElementById("run-neuron").addEventListener("click", () => simulate("neuron"));
}

async function simulate(kind) {
  const { runId, index } = view;
  const status = document.getElementById("neuro-status"), problem = document.getElementById("neuro-error");
  const buttons = [document.getElementById("run-emulator"), document.getElementById("run-neuron")];
  setError(problem, "");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    if (kind === "emulator") {
      const periods = Number(document.getElementById("emulator-periods").value);
      for (const freq of EMULATOR_FREQUENCIES_HZ) {
        status.textContent = `simulating the emulator at ${eng(freq, "Hz")}…`;
        await post(`/runs/${runId}/points/${index}/emulator`, { freq_hz: freq, periods });
      }
    } else {
      status.textContent = "simulating the neuron…";
      await post(`/runs/${runId}/points/${index}/neuron`, { periods: Number(document.getElementById("neuron-periods").value) });
    }
    status.textContent = "done";
  } catch (error) {
    status.textContent = "";
    const where = authProblem(error) ? document.getElementById("token-error") : problem;
    setError(where, `${kind}: ${error instanceof ApiError ? error.message : error}`);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
  if (runId === view.runId && index === view.index) await showResults();
}

async function showResults() {
  const { data } = await get(`/runs/${view.runId}/points/${view.index}/results`);
  const emulator = data.filter((r) => r.kind === "emulator"), neuron = data.filter((r) => r.kind === "neuron");
  drawLoops(EMULATOR_FREQUENCIES_HZ.map((f) => emulator.filter((r) => num(r.data.freq_hz) === f).pop()).filter(Boolean));
  drawSpikes(neuron[neuron.length - 1]);
  const rows = data.slice().reverse().map((r) => el("tr", { "data-result": r.id, "data-kind": r.kind },
    el("td", {}, r.kind), el("td", {}, new Date(r.created_at).toLocaleString()),
    el("td", {}, `${r.data.setup.corner}, ${eng(r.data.setup.temp_c, "°C")}, inverter ×${r.data.setup.inverter_scale}`),
    el("td", {}, r.kind === "emulator" ? emulatorSummary(r.data) : neuronSummary(r.data))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "Nothing stored yet: press Emulator or Neuron.")));
  fillTable(document.getElementById("neuro-results"), ["Circuit", "When", "Conditions", "Result"], rows);
}

function emulatorSummary(d) {
  return `${eng(d.freq_hz, "Hz")} sine of ${eng(d.amplitude_v, "V")}: ${d.pinched ? "pinched" : "not pinched"} (|i(0)|/peak ${eng(d.pinch_ratio, "", 2)}), ` +
    `lobes ${eng(d.lobe_area_pos, "V·A")} / ${eng(d.lobe_area_neg, "V·A")}, peak ${eng(d.peak_current_a, "A")}, VB ${eng(d.vb_min_v, "V")} to ${eng(d.vb_max_v, "V")}`;
}

function neuronSummary(d) {
  return `${d.spike_count} spikes in ${eng(d.options.periods * d.options.period_s, "s")} (${eng(d.rate_hz, "Hz")}, mean ISI ${eng(d.mean_isi_s, "s")}), ` +
    `${eng(d.energy_per_spike_j, "J")} per spike, area ${eng(d.area_um2, "")} µm²`;
}

function drawLoops(results) {
  const element = document.getElementById("loops");
  if (!results.length) return empty(element, "Emulator i-v loops: press Emulator");
  const x = axis("voltage_v", results.flatMap((r) => r.data.loop_v));
  const y = axis("current_a", results.flatMap((r) => r.data.loop_i_a), { nameGap: 50 });
  x.axis.name = `Voltage across the emulator (${x.scale.unit})`;
  y.axis.name = `Current (${y.scale.unit})`;
  draw(element, {
    title: { text: "Emulator i-v loops (last period)", left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
    grid: grid({ left: 80, top: 60 }), legend: { top: 25 },
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}<br>${tick(p.value[0])} ${x.scale.unit}, ${tick(p.value[1])} ${y.scale.unit}` },
    xAxis: x.axis, yAxis: y.axis,
    series: results.map((r, k) => ({
      name: `${eng(r.data.freq_hz, "Hz")}${r.data.pinched ? ", pinched" : ""}`, type: "line", showSymbol: false, lineStyle: { width: 2.5 },
      itemStyle: { color: COLORS[k] }, data: r.data.loop_v.map((v, j) => [x.scale.scale(v), y.scale.scale(r.data.loop_i_a[j])]),
    })),
  });
}

function drawSpikes(result) {
  const element = document.getElementById("spikes");
  if (!result) return empty(element, "Neuron spike train: press Neuron");
  const { options: o, spike_times_s: spikes } = result.data;
  const stop = o.periods * o.period_s;
  const time = axisScale("time_s", [stop]), t = (seconds) => num(seconds) / time.factor;
  const pulse = [];
  for (let k = 0; k < o.periods; k += 1) {
    const start = k * o.period_s, end = start + o.duty * o.period_s;
    pulse.push([t(start), 0], [t(start), o.amplitude_v], [t(end), o.amplitude_v], [t(end), 0]);
  }
  pulse.push([t(stop), 0]);
  draw(element, {
    title: { text: `Neuron: ${spikes.length} spikes, ${eng(result.data.rate_hz, "Hz")}, ${eng(result.data.energy_per_spike_j, "J")} per spike`, left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
    grid: grid({ left: 80, top: 60 }), legend: { top: 25 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value", name: `Time (${time.unit})`, nameLocation: "middle", nameGap: 30, min: 0, max: t(stop) },
    yAxis: { type: "value", name: "Input (V)", nameLocation: "middle", nameGap: 45, min: 0, max: Math.max(1, o.amplitude_v * 1.3) },
    series: [
      { name: "input pulses", type: "line", data: pulse, showSymbol: false, lineStyle: { width: 1.5 }, itemStyle: { color: "#888" }, areaStyle: { opacity: 0.1 } },
      { name: "output spikes", type: "scatter", symbol: "rect", symbolSize: [3, 90], symbolOffset: [0, 0], itemStyle: { color: COLORS[4] },
        data: spikes.map((spike) => [t(spike), o.amplitude_v * 0.65]) },
    ],
  });
}
