// Several runs on one plot: their feasible fronts on any two metrics, and their hypervolumes
// (fixed objective scales, so comparable), each labelled with circuit, technology and conditions.

import { get, runOptions } from "./api.js";
import { axis, COLORS, draw, grid } from "./charts.js";
import { el } from "./dom.js";
import { fillAxisSelect, runLabel, runMetrics, runObjectives } from "./run.js";
import { format, num, quantity } from "./units.js";

const SYMBOLS = ["circle", "diamond", "triangle", "rect", "roundRect", "pin", "arrow"];
const view = { ids: [], runs: [], fronts: {}, hypervolumes: {}, wired: false };

export async function showCompare(ids) {
  document.title = "gmopt compare";
  const all = (await get("/runs?limit=200")).data;
  view.ids = ids.length ? ids : all.filter((r) => r.generation !== null).slice(0, 2).map((r) => r.id);
  view.runs = view.ids.map((id) => all.find((r) => r.id === id)).filter(Boolean);
  await Promise.all(view.runs.map(async (run) => {
    [view.fronts[run.id], view.hypervolumes[run.id]] = await Promise.all([get(`/runs/${run.id}/front`), get(`/runs/${run.id}/hypervolume`)]);
  }));
  picker(all);
  // the axes offer what the compared runs measure; the first run's objectives are the default
  const options = await runOptions();
  const objectives = view.runs.map((run) => runObjectives(run, options).map((o) => o.metric));
  const metrics = [...new Set([...objectives.flat(), ...view.runs.flatMap(runMetrics)])];
  const [x, y] = objectives[0] || ["rmse_a", "gain_db"];
  fillAxisSelect(document.getElementById("compare-x"), metrics, x || metrics[0]);
  fillAxisSelect(document.getElementById("compare-y"), metrics, y || metrics.find((m) => m !== x));
  if (!view.wired) {
    for (const id of ["compare-x", "compare-y"]) document.getElementById(id).addEventListener("change", drawFronts);
    view.wired = true;
  }
  drawFronts();
  drawHypervolumes();
  return null;
}

function picker(all) {
  const box = document.getElementById("compare-picker");
  box.replaceChildren(el("legend", {}, "Runs on the plot"), ...all.filter((r) => r.generation !== null).map((run) => {
    const input = el("input", { type: "checkbox", id: `pick-${run.id}`, value: run.id });
    input.checked = view.ids.includes(run.id);
    input.addEventListener("change", () => {
      const chosen = [...box.querySelectorAll("input:checked")].map((i) => Number(i.value)).sort((a, b) => a - b);
      location.hash = `#/compare/${chosen.join(",")}`;
    });
    return el("label", { for: input.id }, input, ` ${runLabel(run)}`);
  }));
}

function drawFronts() {
  const xName = document.getElementById("compare-x").value, yName = document.getElementById("compare-y").value;
  const points = view.runs.flatMap((run) => view.fronts[run.id].data.map((p) => [num(p.metrics[xName]), num(p.metrics[yName])]));
  const x = axis(xName, points.map((p) => p[0])), y = axis(yName, points.map((p) => p[1]), { nameGap: 48 });
  const chart = draw(document.getElementById("compare-fronts"), {
    grid: grid({ left: 80, top: 30 + 22 * Math.ceil(view.runs.length / 2) }),
    legend: { top: 5 },
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}<br>design #${p.value[2]}<br>${quantity(xName).label}: ${format(xName, p.data.raw[0])}<br>${quantity(yName).label}: ${format(yName, p.data.raw[1])}` },
    xAxis: x.axis, yAxis: y.axis,
    series: view.runs.map((run, k) => ({
      id: `run-${run.id}`, name: runLabel(run), type: "scatter", symbol: SYMBOLS[k % SYMBOLS.length], symbolSize: 12,
      itemStyle: { color: COLORS[k % COLORS.length], opacity: 0.85 },
      data: view.fronts[run.id].data
        .map((p) => ({ raw: [num(p.metrics[xName]), num(p.metrics[yName])], index: p.index }))
        .filter((d) => Number.isFinite(d.raw[0]) && Number.isFinite(d.raw[1]))
        .map((d) => ({ value: [x.scale.scale(d.raw[0]), y.scale.scale(d.raw[1]), d.index], raw: d.raw })),
    })),
  });
  chart.off("click");
  chart.on("click", (p) => { location.hash = `#/runs/${view.runs[p.seriesIndex].id}/points/${p.value[2]}`; });
}

function drawHypervolumes() {
  draw(document.getElementById("compare-history"), {
    grid: grid({ left: 80, top: 30 + 22 * Math.ceil(view.runs.length / 2) }),
    legend: { top: 5 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "value", name: "Generation", nameLocation: "middle", nameGap: 30, minInterval: 1 },
    yAxis: { type: "value", name: "Hypervolume", nameLocation: "middle", nameGap: 50, scale: true },
    series: view.runs.map((run, k) => ({
      name: runLabel(run), type: "line", symbol: SYMBOLS[k % SYMBOLS.length], symbolSize: 7, lineStyle: { width: 2.5 },
      itemStyle: { color: COLORS[k % COLORS.length] },
      data: view.hypervolumes[run.id].data.map((p) => [p.generation, num(p.hypervolume)]),
    })),
  });
}
