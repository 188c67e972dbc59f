// gmopt web page: the runs with live progress, a run's Pareto front as a scatter (click a point
// for its widths, metrics and Iout-Vin curve), and a second run on the same plot to compare.
// Plain JavaScript and SVG, no build step; every text from the server goes through textContent.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 2000;
const state = { shown: null, compared: null, fronts: {}, selected: null };

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The API writes non-finite numbers as "inf", "-inf", "nan".
function num(value) {
  if (typeof value === "number") return value;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  return NaN;
}

function fmt(value) {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return Number.isFinite(value) ? Number(value.toPrecision(4)).toString() : String(value);
}

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// --- runs table --------------------------------------------------------------------------
async function refreshRuns() {
  try {
    const runs = await getJson("/runs?limit=100");
    renderRuns(runs.data);
    document.getElementById("runs-updated").textContent = `${runs.count} runs, updated ${new Date().toLocaleTimeString()}`;
    for (const run of runs.data) {
      const id = run.id;
      const cached = state.fronts[id];
      if ((id === state.shown || id === state.compared) && cached && cached.generation !== run.generation) {
        await loadFront(id);
        drawScatter();
      }
    }
  } catch (error) {
    document.getElementById("runs-updated").textContent = `update failed: ${error.message}`;
  }
}

function renderRuns(runs) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren();
  for (const run of runs) {
    const row = el("tr", { "data-run": run.id });
    const show = el("input", { type: "radio", name: "show", "data-show": run.id });
    show.checked = run.id === state.shown;
    show.addEventListener("change", () => selectRun(run.id, "shown"));
    const compare = el("input", { type: "checkbox", "data-compare": run.id });
    compare.checked = run.id === state.compared;
    compare.addEventListener("change", () => selectRun(compare.checked ? run.id : null, "compared"));
    const bar = el("span", { class: "bar", title: `${run.progress_pct}%` });
    bar.append(el("span", { style: `width:${Math.min(100, run.progress_pct)}%` }));
    const cells = [
      show, compare, run.id, run.topology, el("span", { class: `status-${run.status}`, title: run.message }, run.status),
      bar, run.generation === null ? "-" : `${run.generation + 1} / ${run.generations}`,
      fmt(run.evaluations_per_s), run.eta_s === null ? "" : `${Math.round(run.eta_s)} s`,
      run.hypervolume === null ? "" : fmt(num(run.hypervolume)),
    ];
    for (const cell of cells) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = String(cell);
      row.append(td);
    }
    const progress = el("small", {}, ` ${run.progress_pct.toFixed(0)}%`);
    row.children[5].append(progress);
    body.append(row);
  }
}

async function selectRun(id, slot) {
  state[slot] = id;
  if (id !== null) await loadFront(id);
  fillAxes();
  drawScatter();
}

async function loadFront(id) {
  state.fronts[id] = await getJson(`/runs/${id}/front`);
}

// --- axes and scatter --------------------------------------------------------------------
function axisOptions() {
  const options = [];
  const front = state.fronts[state.shown];
  if (!front) return options;
  front.objectives.forEach((name, i) => options.push({ key: `objective:${i}`, label: `objective ${name} (minimised)` }));
  const metrics = new Set();
  for (const point of front.data) {
    for (const [key, value] of Object.entries(point.metrics)) if (typeof value === "number") metrics.add(key);
  }
  for (const key of [...metrics].sort()) options.push({ key: `metric:${key}`, label: key });
  return options;
}

function fillAxes() {
  const options = axisOptions();
  ["x-axis", "y-axis"].forEach((id, n) => {
    const select = document.getElementById(id);
    const previous = select.value;
    select.replaceChildren(...options.map((o) => el("option", { value: o.key }, o.label)));
    if (options.some((o) => o.key === previous)) select.value = previous;
    else if (options[n]) select.value = options[n].key;
  });
}

function coordinate(point, key) {
  const [kind, name] = key.split(":");
  return kind === "objective" ? num(point.objectives[Number(name)]) : num(point.metrics[name]);
}

function ticks(low, high, count = 5) {
  return Array.from({ length: count }, (_, i) => low + ((high - low) * i) / (count - 1));
}

// Axes with five ticks each inside ``box`` (SVG units); returns the x and y scales.
function drawAxes(svg, box, [x0, x1], [y0, y1], xLabel, yLabel) {
  const sx = (x) => box.left + ((x - x0) / (x1 - x0 || 1)) * (box.right - box.left);
  const sy = (y) => box.bottom - ((y - y0) / (y1 - y0)) * (box.bottom - box.top);
  const axis = el("svg:g", { class: "axis" });
  const middleY = (box.top + box.bottom) / 2;
  axis.append(el("svg:line", { x1: box.left, y1: box.bottom, x2: box.right, y2: box.bottom }));
  axis.append(el("svg:line", { x1: box.left, y1: box.top, x2: box.left, y2: box.bottom }));
  for (const t of ticks(x0, x1)) axis.append(el("svg:text", { x: sx(t), y: box.bottom + 16, "text-anchor": "middle" }, fmt(t)));
  for (const t of ticks(y0, y1)) axis.append(el("svg:text", { x: box.left - 6, y: sy(t) + 4, "text-anchor": "end" }, fmt(t)));
  axis.append(el("svg:text", { x: (box.left + box.right) / 2, y: box.bottom + 34, "text-anchor": "middle" }, xLabel));
  axis.append(el("svg:text", { x: 12, y: middleY, transform: `rotate(-90 12 ${middleY})`, "text-anchor": "middle" }, yLabel));
  svg.append(axis);
  return [sx, sy];
}

function drawScatter() {
  const svg = document.getElementById("scatter");
  svg.replaceChildren();
  const xKey = document.getElementById("x-axis").value;
  const yKey = document.getElementById("y-axis").value;
  const series = [[state.shown, "run-a"], [state.compared, "run-b"]].filter(([id]) => id !== null && state.fronts[id]);
  const title = document.getElementById("front-title");
  title.textContent = series.map(([id]) => `run ${id}: ${state.fronts[id].count} points, generation ${state.fronts[id].generation}`).join(" vs ") || "choose a run";
  const legend = document.getElementById("legend");
  legend.replaceChildren(...series.map(([id, cls]) => el("span", { class: cls === "run-a" ? "legend-a" : "legend-b" }, ` \u25cf run ${id} `)));
  const points = series.flatMap(([id, cls]) => state.fronts[id].data.map((p) => ({ id, cls, p, x: coordinate(p, xKey), y: coordinate(p, yKey) })))
    .filter((d) => Number.isFinite(d.x) && Number.isFinite(d.y));
  if (!xKey || !yKey || points.length === 0) return;
  const box = { left: 70, right: 620, top: 15, bottom: 370 };
  const label = (key) => document.querySelector(`#x-axis option[value="${key}"]`)?.textContent || key;
  const span = (values) => {
    let low = Math.min(...values), high = Math.max(...values);
    if (low === high) { low -= Math.abs(low) * 0.05 || 1; high += Math.abs(high) * 0.05 || 1; }
    const pad = (high - low) * 0.05;
    return [low - pad, high + pad];
  };
  const [sx, sy] = drawAxes(svg, box, span(points.map((d) => d.x)), span(points.map((d) => d.y)), label(xKey), label(yKey));
  for (const d of points) {
    const circle = el("svg:circle", {
      class: `point ${d.cls}`, cx: sx(d.x), cy: sy(d.y), r: 6, "data-run": d.id, "data-index": d.p.index,
    });
    circle.append(el("svg:title", {}, `run ${d.id}, evaluation ${d.p.index}`));
    circle.addEventListener("click", () => showPoint(d.id, d.p.index, circle));
    svg.append(circle);
  }
}

// --- one point -------------------------------------------------------------------------------
async function showPoint(runId, index, circle) {
  document.querySelectorAll(".point.selected").forEach((c) => c.classList.remove("selected"));
  circle.classList.add("selected");
  const point = await getJson(`/runs/${runId}/evaluations/${index}`);
  document.getElementById("point-panel").hidden = false;
  document.getElementById("point-title").textContent = `run ${runId}, evaluation ${index} (generation ${point.generation})`;
  const widths = document.querySelector("#widths tbody");
  widths.replaceChildren(...point.var.map((v, i) => {
    const row = el("tr", { "data-variable": i + 1 });
    row.append(el("td", {}, `W${i + 1}`), el("td", { class: "num" }, String(v)), el("td", { class: "num", "data-value": point.widths_um[i] }, fmt(num(point.widths_um[i]))));
    return row;
  }));
  const metrics = document.querySelector("#metrics tbody");
  metrics.replaceChildren(...Object.entries(point.metrics).map(([key, value]) => {
    const row = el("tr", { "data-metric": key });
    const shown = typeof value === "number" || ["inf", "-inf", "nan"].includes(value) ? fmt(num(value)) : fmt(value);
    row.append(el("th", {}, key), el("td", { class: "num", "data-value": JSON.stringify(value) }, shown));
    return row;
  }));
  drawCurve(point.curves.vin_v || [], point.curves.iout_a || []);
}

function drawCurve(vin, iout) {
  const svg = document.getElementById("curve");
  svg.replaceChildren();
  const pairs = vin.map((v, i) => [num(v), num(iout[i]) * 1e3]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pairs.length < 2) { svg.append(el("svg:text", { x: 20, y: 150 }, "no curve stored for this point")); return; }
  const box = { left: 60, right: 400, top: 10, bottom: 260 };
  const xs = pairs.map((p) => p[0]), ys = pairs.map((p) => p[1]);
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const [sx, sy] = drawAxes(svg, box, [Math.min(...xs), Math.max(...xs)], [y0, y1], "Vin (V)", "Iout (mA)");
  const path = pairs.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
  svg.append(el("svg:path", { d: path, fill: "none", stroke: "#3a7bd5", "stroke-width": 2, id: "curve-line" }));
}

document.getElementById("x-axis").addEventListener("change", drawScatter);
document.getElementById("y-axis").addEventListener("change", drawScatter);
refreshRuns();
setInterval(refreshRuns, POLL_MS);
