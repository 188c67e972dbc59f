// gmopt dashboard: one page, one view per URL hash, every view refreshed live by polling.
//   #/runs                      the runs, with progress
//   #/new                       start a run
//   #/runs/<id>                 a run: every evaluation, convergence, the front
//   #/runs/<id>/points/<index>  one design in full
//   #/compare/<id>,<id>,...     fronts of several runs on one plot
// Plain ES modules, no build step; every text from the server goes in through textContent.

import { get, runOptions, setToken, token } from "./api.js";
import { showCompare } from "./compare.js";
import { el, setError } from "./dom.js";
import { showForm } from "./form.js";
import { showPoint } from "./point.js";
import { cancelButton, showRun } from "./run.js";
import { conditions, eng, num, registerObjectives } from "./units.js";

const POLL_MS = 2000;
const ROUTES = [
  [/^#\/runs\/(\d+)\/points\/(\d+)$/, "point", (m) => showPoint(Number(m[1]), Number(m[2]))],
  [/^#\/runs\/(\d+)$/, "run", (m) => showRun(Number(m[1]))],
  [/^#\/new$/, "new", () => showForm()],
  [/^#\/compare(?:\/([\d,]*))?$/, "compare", (m) => showCompare((m[1] || "").split(",").filter(Boolean).map(Number))],
  [/^#?\/?(?:runs)?$/, "runs", () => showRuns()],
];
const comparing = new Set();
let refresh = null; // the current view's live update

async function route() {
  const hash = location.hash || "#/runs";
  const [pattern, name, open] = ROUTES.find(([regex]) => regex.test(hash)) || ROUTES[ROUTES.length - 1];
  document.querySelectorAll(".view").forEach((view) => { view.hidden = view.id !== `view-${name}`; });
  document.querySelectorAll("[data-nav]").forEach((link) => link.classList.toggle("active", link.dataset.nav === name));
  setError(document.getElementById("page-error"), "");
  refresh = null;
  try {
    refresh = (await open(hash.match(pattern))) || null;
  } catch (error) {
    setError(document.getElementById("page-error"), error.message);
  }
}

// --- the runs -------------------------------------------------------------------------------
async function showRuns() {
  document.title = "gmopt runs";
  await refreshRuns();
  return refreshRuns;
}

async function refreshRuns() {
  const runs = await get("/runs?limit=200");
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...runs.data.map(runRow));
  if (!runs.data.length) body.append(el("tr", {}, el("td", { colspan: 11, class: "empty" }, "No runs yet: start one with “New run”.")));
  document.getElementById("runs-updated").textContent = `${runs.count} runs · updated ${new Date().toLocaleTimeString()}`;
  updateCompareButton();
}

function runRow(run) {
  const pick = el("input", { type: "checkbox", "data-compare": run.id, "aria-label": `compare run ${run.id}` });
  pick.checked = comparing.has(run.id);
  pick.addEventListener("change", () => { if (pick.checked) comparing.add(run.id); else comparing.delete(run.id); updateCompareButton(); });
  const bar = el("div", { class: "bar", role: "progressbar", "aria-valuenow": run.progress_pct, "aria-label": `run ${run.id} progress` },
    el("span", { style: `width:${Math.min(100, run.progress_pct)}%` }));
  const generation = run.generation === null ? "" : ` · gen ${run.generation + 1}/${run.generations}`;
  const actions = el("td", { class: "actions" }, el("a", { href: `#/runs/${run.id}`, class: "button small" }, "Open"));
  const cancel = cancelButton(run, refreshRuns);
  if (cancel) actions.append(cancel);
  return el("tr", { "data-run": run.id },
    el("td", {}, pick),
    el("td", {}, el("a", { href: `#/runs/${run.id}` }, `#${run.id}`)),
    el("td", { "data-circuit": run.circuit ? run.circuit.name : null }, run.topology,
      run.circuit ? el("small", { class: "tag", title: run.circuit.description }, `circuit · ${run.circuit.testbench}`) : null),
    el("td", {}, run.technology),
    el("td", {}, conditions(run.spec)),
    el("td", { class: "num" }, `${run.pop_size} × ${run.generations}`),
    el("td", {}, el("span", { class: `status status-${run.status}`, title: run.message, "data-status": run.status }, run.status)),
    el("td", {}, bar, el("small", {}, ` ${eng(Math.floor(run.progress_pct), "%")}${generation}`)),
    el("td", { class: "num" }, run.eta_s === null || run.status !== "running" ? "" : eng(run.eta_s, "s", 2)),
    el("td", { class: "num" }, run.hypervolume === null ? "" : eng(num(run.hypervolume), "")),
    actions,
  );
}

function updateCompareButton() {
  const button = document.getElementById("compare-selected");
  button.disabled = comparing.size < 1;
  button.textContent = comparing.size ? `Compare selected (${comparing.size})` : "Compare selected";
}

document.getElementById("compare-selected").addEventListener("click", () => {
  location.hash = `#/compare/${[...comparing].sort((a, b) => a - b).join(",")}`;
});

// --- what the service offers: the objectives' directions, and a token field when writes need one ---
async function setUp() {
  const options = await runOptions();
  registerObjectives(options.objectives);
  document.getElementById("token-box").hidden = !options.token_required;
  const input = document.getElementById("token");
  input.value = token();
  input.addEventListener("change", () => { setToken(input.value.trim()); setError(document.getElementById("token-error"), ""); });
}

window.addEventListener("hashchange", route);
setUp().catch((error) => setError(document.getElementById("page-error"), error.message)).then(route);
setInterval(async () => {
  if (!refresh || document.hidden) return;
  const banner = document.getElementById("page-error");
  try {
    await refresh();
    if (banner.dataset.live) { setError(banner, ""); delete banner.dataset.live; }
  } catch (error) {
    setError(banner, `live update failed: ${error.message}`);
    banner.dataset.live = "1";
  }
}, POLL_MS);
