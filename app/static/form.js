// The run form: every field prefilled from GET /run-options, limits typed in a designer's units
// (units.js), and the API as the only validator: its 422 messages are shown beside the fields they name.

import { ApiError, authProblem, get, post, runOptions } from "./api.js";
import { el, setError } from "./dom.js";
import { inputUnit, quantity } from "./units.js";

// [spec field, label, kind, metric whose unit a limit is typed in]
const FIELDS = [
  ["Circuit", [
    ["topology", "Circuit (a built-in OTA, or a stored circuit package)", "topology"],
    ["technology", "Technology", "technology"],
    ["corners", "Corners", "corners"],
    ["temps_c", "Temperatures (°C, comma-separated)", "list"],
  ]],
  ["Search", [
    ["pop_size", "Population", "text"],
    ["generations", "Generations", "text"],
    ["seed", "Random seed", "text"],
    ["seeding", "Initial population", "seeding"],
    ["objectives", "Objectives", "objectives"],
    ["screen_dc", "Skip the AC analysis of candidates their DC sweep rules out", "checkbox"],
  ]],
  ["Constraints", [
    ["constraints.gain_min_db", "Minimum DC gain", "limit", "gain_db"],
    ["constraints.bandwidth_min_hz", "Minimum −3 dB bandwidth", "limit", "bandwidth_hz"],
    ["constraints.phase_margin_min_deg", "Minimum phase margin", "limit", "phase_margin_deg"],
    ["constraints.offset_max_v", "Maximum |input offset|", "limit", "offset_v"],
    ["constraints.rmse_max_a", "Maximum linearity RMSE", "limit", "rmse_a"],
    ["constraints.gm_min_s", "Minimum Gm", "limit", "gm_s"],
    ["constraints.gm_max_s", "Maximum Gm", "limit", "gm_s"],
    ["constraints.require_saturation", "Every device saturated", "checkbox"],
  ]],
];
// Words in the API's plain-text refusals (runner checks, service limits) that name a field.
const MENTIONS = { corners: ["corner"], technology: ["technology"], pop_size: ["pop_size"], generations: ["generations"] };
let built = false;
// A stored circuit package in the circuit choice: its value is "circuit:<name>".
const CIRCUIT = "circuit:";
// What a circuit run does not take (optimizer.spec.OTA_ONLY_FIELDS): its package brings them.
const OTA_ONLY = ["var_min", "var_max", "lambda_m", "bias_v", "derive_bias", "free", "screen_dc", "objectives", "constraints", "monte_carlo", "emulator"];

const idOf = (field) => `field-${field.replace(".", "-")}`;
const pick = (data, field) => field.split(".").reduce((value, key) => value?.[key], data);

function schemaOf(options, field) {
  const schema = options.spec_schema;
  const [head, tail] = field.split(".");
  if (!tail) return schema.properties[head] || {};
  const ref = (schema.properties[head].$ref || "").split("/").pop();
  return schema.$defs?.[ref]?.properties?.[tail] || {};
}

export async function showForm() {
  document.title = "gmopt new run";
  if (!built) await build();
  return null;
}

async function build() {
  const [options, technologies] = await Promise.all([runOptions(), get("/technologies")]);
  options.circuits = options.circuits || []; // the stored circuit packages (GET /run-options lists them)
  const container = document.getElementById("form-fields");
  container.replaceChildren(...FIELDS.map(([legend, fields]) => el("fieldset", { "data-legend": legend }, el("legend", {}, legend),
    ...fields.map(([field, label, kind, metric]) => fieldBlock(options, technologies, field, label, kind, metric)))));
  const choice = document.getElementById(idOf("topology"));
  choice.addEventListener("change", () => showKind(options));
  const technology = document.getElementById(idOf("technology"));
  technology.addEventListener("change", () => fillCorners(technologies, technology.value, options.defaults.corners));
  fillDefaults(options, technologies);
  document.getElementById("run-form").addEventListener("submit", (event) => { event.preventDefault(); submit(options); });
  document.getElementById("form-reset").addEventListener("click", () => fillDefaults(options, technologies));
  built = true;
}

function fieldBlock(options, technologies, field, label, kind, metric) {
  const id = idOf(field), describedBy = `${id}-error ${id}-hint`;
  const schema = schemaOf(options, field);
  const bounds = schema.minimum !== undefined && schema.maximum !== undefined ? `From ${schema.minimum} to ${schema.maximum}.` : "";
  const budget = ["pop_size", "generations"].includes(field) ? ` Population × generations at most ${options.max_evaluations_per_run} on this service.` : "";
  const hint = el("small", { class: "hint", id: `${id}-hint` }, `${schema.description || bounds}${budget}`);
  const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
  let control;
  if (kind === "topology") {
    control = el("select", { id, "aria-describedby": describedBy },
      el("optgroup", { label: "Built-in OTAs" }, ...options.topologies.map((t) => el("option", { value: t.name }, `${t.name}: ${t.title}`))),
      options.circuits.length ? el("optgroup", { label: "Stored circuit packages" },
        ...options.circuits.map((c) => el("option", { value: `${CIRCUIT}${c.name}`, title: c.description }, `${c.name}: ${c.description || c.testbench}`))) : null);
  } else if (kind === "technology") {
    control = el("select", { id, "aria-describedby": describedBy }, ...technologies.map((t) => el("option", { value: t.name }, `${t.name}: ${t.description}`)));
  } else if (kind === "seeding") {
    control = el("select", { id, "aria-describedby": describedBy },
      el("option", { value: "gmid" }, "gm/ID first sizing and copies around it"), el("option", { value: "random" }, "random widths"));
  } else if (kind === "corners" || kind === "objectives") {
    const group = el("fieldset", { class: "choices", id, "aria-describedby": describedBy }, el("legend", { class: "sr-only" }, label));
    if (kind === "objectives") {
      for (const [name, { metric, goal }] of Object.entries(options.objectives)) {
        const box = el("input", { type: "checkbox", id: `${id}-${name}`, value: name });
        group.append(el("label", { for: `${id}-${name}` }, box, ` ${goal === "max" ? "maximise" : "minimise"} ${quantity(metric).label}`));
      }
    }
    return el("div", { class: "field", "data-field": field }, el("span", { class: "label" }, label), group, hint, error);
  } else if (kind === "checkbox") {
    control = el("input", { id, type: "checkbox", "aria-describedby": describedBy });
    return el("div", { class: "field check", "data-field": field }, el("label", { for: id }, control, ` ${label}`), hint, error);
  } else {
    control = el("input", { id, type: "text", inputmode: kind === "list" ? "text" : "decimal", "aria-describedby": describedBy, autocomplete: "off" });
  }
  const optional = schema.anyOf?.some((choice) => choice.type === "null");
  const unit = kind === "limit" ? ` (${inputUnit(metric)[0]}${optional ? "; empty: no limit" : ""})` : "";
  return el("div", { class: "field", "data-field": field }, el("label", { for: id }, `${label}${unit}`), control, hint, error);
}

function fillCorners(technologies, name, chosen) {
  const group = document.getElementById(idOf("corners"));
  const technology = technologies.find((t) => t.name === name);
  group.querySelectorAll("label").forEach((label) => label.remove());
  for (const corner of technology ? technology.corners : []) {
    const box = el("input", { type: "checkbox", id: `${idOf("corners")}-${corner}`, value: corner });
    box.checked = chosen.includes(corner);
    group.append(el("label", { for: box.id }, box, ` ${corner}`));
  }
}

function fillDefaults(options, technologies) {
  const d = options.defaults;
  for (const [, fields] of FIELDS) {
    for (const [field, , kind, metric] of fields) {
      const control = document.getElementById(idOf(field));
      const value = pick(d, field);
      if (kind === "limit") control.value = value === null ? "" : String(Number((value / inputUnit(metric)[1]).toPrecision(6)));
      else if (kind === "list") control.value = value.join(", ");
      else if (kind === "checkbox") control.checked = Boolean(value);
      else if (kind === "objectives") control.querySelectorAll("input").forEach((box) => { box.checked = value.includes(box.value); });
      else if (kind !== "corners") control.value = String(value);
    }
  }
  fillCorners(technologies, d.technology, d.corners);
  showKind(options);
  clearErrors();
}

function chosenCircuit(options) {
  const value = document.getElementById(idOf("topology")).value;
  return value.startsWith(CIRCUIT) ? options.circuits.find((c) => c.name === value.slice(CIRCUIT.length)) : null;
}

// A circuit package brings its own objectives and limits: the OTA's fields are hidden, and said so.
function showKind(options) {
  const circuit = chosenCircuit(options);
  const constraints = document.querySelector("#run-form fieldset[data-legend=Constraints]");
  constraints.hidden = Boolean(circuit);
  for (const field of ["objectives", "screen_dc"]) document.querySelector(`#run-form .field[data-field="${field}"]`).hidden = Boolean(circuit);
  const seeding = document.getElementById(idOf("seeding"));
  seeding.options[0].textContent = circuit ? "the package's nominal values and copies around them" : "gm/ID first sizing and copies around it";
  seeding.options[1].textContent = circuit ? "random values" : "random widths";
  const hint = document.getElementById(`${idOf("topology")}-hint`);
  hint.textContent = circuit
    ? `Circuit package ${circuit.name} (testbench ${circuit.testbench}): its objectives, constraints and variables come from the package.`
    : "A built-in OTA: its widths are sized; objectives and constraints below.";
}

// A number when the text is one (times ``factor``), else the text itself: the API then names the field.
function parsed(text, factor = 1) {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== "" && Number.isFinite(value) ? Number((value * factor).toPrecision(12)) : trimmed;
}

function body(options) {
  const spec = JSON.parse(JSON.stringify(options.defaults));
  for (const [, fields] of FIELDS) {
    for (const [field, , kind, metric] of fields) {
      const control = document.getElementById(idOf(field));
      let value;
      if (kind === "limit") value = control.value.trim() === "" && field.includes("gm_") ? null : parsed(control.value, inputUnit(metric)[1]);
      else if (kind === "list") value = control.value.split(",").map((item) => parsed(item)).filter((item) => item !== "");
      else if (kind === "checkbox") value = control.checked;
      else if (kind === "corners" || kind === "objectives") value = [...control.querySelectorAll("input:checked")].map((box) => box.value);
      else if (kind === "text") value = parsed(control.value);
      else value = control.value;
      const [head, tail] = field.split(".");
      if (tail) spec[head][tail] = value; else spec[head] = value;
    }
  }
  const circuit = chosenCircuit(options);
  if (!circuit) return spec;
  // a circuit run names its stored package; the service reads the package's exact text
  for (const key of ["topology", ...OTA_ONLY]) delete spec[key];
  return { ...spec, circuit: circuit.name };
}

function clearErrors() {
  document.querySelectorAll("#run-form .field-error").forEach((node) => setError(node, ""));
  document.querySelectorAll("#run-form [aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  setError(document.getElementById("form-error"), "");
}

function showFieldError(field, message) {
  const block = document.querySelector(`#run-form .field[data-field="${field}"]`);
  if (!block) return false;
  const node = block.querySelector(".field-error");
  setError(node, node.textContent ? `${node.textContent}; ${message}` : message);
  block.querySelector("input, select, fieldset")?.setAttribute("aria-invalid", "true");
  return true;
}

// Each of the API's problems beside its field: FastAPI's list by location, a plain refusal by the
// fields it mentions; what names no field goes above the form.
function showProblems(error) {
  const unplaced = [];
  if (Array.isArray(error.detail)) {
    for (const problem of error.detail) {
      const loc = problem.loc.filter((part) => part !== "body");
      let placed = false;
      for (let n = loc.length; n > 0 && !placed; n -= 1) placed = showFieldError(loc.slice(0, n).join("."), problem.msg);
      if (!placed) placed = mentioned(problem.msg);
      if (!placed) unplaced.push(problem.msg);
    }
  } else if (!mentioned(error.message)) unplaced.push(error.message);
  setError(document.getElementById("form-error"), `The service refused the run: ${unplaced.length ? unplaced.join("; ") : "see the fields marked below."}`);
}

function mentioned(message) {
  let placed = false;
  for (const [, fields] of FIELDS) {
    for (const [field] of fields) {
      const words = MENTIONS[field] || [field.split(".").pop()];
      if (words.some((word) => message.includes(word))) placed = showFieldError(field, message) || placed;
    }
  }
  return placed;
}

async function submit(options) {
  clearErrors();
  const status = document.getElementById("form-status");
  status.textContent = "submitting…";
  try {
    const run = await post("/runs", body(options));
    status.textContent = `run ${run.id} queued`;
    location.hash = `#/runs/${run.id}`;
  } catch (error) {
    status.textContent = "";
    if (authProblem(error)) {
      setError(document.getElementById("token-error"), error.message);
      setError(document.getElementById("form-error"), `The service needs a valid API token to start runs: ${error.message}`);
    } else if (error instanceof ApiError && error.status === 422) showProblems(error);
    else setError(document.getElementById("form-error"), error.message);
  }
}

