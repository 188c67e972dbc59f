// The one place that knows what each quantity is: its name for a designer, its SI unit, how it is
// written (engineering notation or fixed decimals), which way is better, and how a run's spec
// limits it. Every number on the page goes through format(), every chart axis through axisScale().

const PREFIXES = { "-15": "f", "-12": "p", "-9": "n", "-6": "µ", "-3": "m", "0": "", "3": "k", "6": "M", "9": "G", "12": "T" };
const PREFIX_EXPONENT = Object.fromEntries(Object.entries(PREFIXES).map(([exponent, prefix]) => [prefix, Number(exponent)]));
export const DIGITS = 4; // significant digits of engineering notation

// unit: SI unit (engineering prefixes), or "dB" / "deg" (fixed decimals, never prefixed); scale: the
// stored value times scale is in unit (1e-6 for a length stored in um). log: the axis spans decades.
// input: the unit a designer types a limit in (the run form), as a prefix of unit. Which way an
// objective's metric is better (goal) comes from the service (GET /run-options): registerObjectives.
export const QUANTITIES = {
  gain_db: { label: "DC gain", unit: "dB", input: "" },
  bandwidth_hz: { label: "−3 dB bandwidth", unit: "Hz", log: true, input: "M" },
  ugf_hz: { label: "Unity-gain frequency", unit: "Hz", log: true },
  phase_margin_deg: { label: "Phase margin", unit: "deg", input: "" },
  gm_s: { label: "Transconductance Gm", unit: "S", input: "m" },
  rmse_a: { label: "Linearity RMSE", unit: "A", input: "µ" },
  offset_v: { label: "Input offset", unit: "V", input: "m" },
  power_w: { label: "Power", unit: "W" },
  saturation_margin_v: { label: "Saturation margin (min VDS−VDSAT)", unit: "V" },
  all_saturated: { label: "Every device saturated", unit: "bool" },
  sim_time_s: { label: "Simulation time", unit: "s" },
  width_m: { label: "Width", unit: "m" },
  length_m: { label: "Length", unit: "m" },
  freq_hz: { label: "Frequency", unit: "Hz", log: true },
  vin_v: { label: "Differential input Vin", unit: "V" },
  iout_a: { label: "Output current Iout", unit: "A" },
  voltage_v: { label: "Voltage", unit: "V" },
  current_a: { label: "Current", unit: "A" },
  time_s: { label: "Time", unit: "s" },
  energy_j: { label: "Energy", unit: "J" },
  area_va: { label: "Lobe area", unit: "V·A" },
  hypervolume: { label: "Hypervolume", unit: "" },
  temp_c: { label: "Temperature", unit: "°C" },
  offset_sigma_v: { label: "Offset σ (mismatch)", unit: "V" },
  mc_yield: { label: "Mismatch yield", unit: "%", scale: 100 },
  pinch_ratio_max: { label: "Worst emulator pinch ratio", unit: "" },
  loop_asymmetry_max: { label: "Worst emulator loop asymmetry", unit: "" },
  percent: { label: "Progress", unit: "%" },
  // the op-amp testbench's own measures (circuits/benches/opamp.py; docs/circuits.md defines them)
  gbw_hz: { label: "Gain-bandwidth GBW", unit: "Hz", log: true },
  cmrr_db: { label: "CMRR", unit: "dB" },
  psrr_db: { label: "PSRR", unit: "dB" },
  swing_v: { label: "Output swing", unit: "V" },
  slew_rate_v_per_s: { label: "Slew rate (10-90 %)", unit: "V/µs", scale: 1e-6 },
  settling_time_s: { label: "1 % settling time", unit: "s" },
  tran_time_s: { label: "Time", unit: "s" },
  tran_out_v: { label: "Output voltage", unit: "V" },
  converged: { label: "Simulated", unit: "bool" },
};

// A circuit package's variable kinds (circuits.model.Variable) and the SI unit of their values.
const KIND_UNITS = { w: "m", l: "m", m: "", ibias: "A", vbias: "V", c: "F", r: "Ω" };
export const KIND_LABELS = { w: "width", l: "length", m: "multiplier", ibias: "bias current", vbias: "bias voltage", c: "capacitor", r: "resistor" };

// A circuit run's variables as quantities named "design.<name>": format("design.cc", 2e-12) -> "2 pF".
export function registerVariables(variables) {
  for (const v of variables) QUANTITIES[`design.${v.name}`] = { label: v.name, unit: KIND_UNITS[v.kind] ?? "", log: v.scale === "log" };
}

// What each of the optimizer's constraints (optimizer.problem.constraint_names, then the follow-ups
// of optimizer.followup) limits: the metric, the limit's place in the run's spec, the sense.
const CONSTRAINTS = {
  gain: { metric: "gain_db", limit: ["constraints", "gain_min_db"], sense: "≥" },
  bandwidth: { metric: "bandwidth_hz", limit: ["constraints", "bandwidth_min_hz"], sense: "≥" },
  phase_margin: { metric: "phase_margin_deg", limit: ["constraints", "phase_margin_min_deg"], sense: "≥" },
  offset: { metric: "offset_v", limit: ["constraints", "offset_max_v"], sense: "magnitude ≤" },
  rmse: { metric: "rmse_a", limit: ["constraints", "rmse_max_a"], sense: "≤" },
  gm_min: { metric: "gm_s", limit: ["constraints", "gm_min_s"], sense: "≥" },
  gm_max: { metric: "gm_s", limit: ["constraints", "gm_max_s"], sense: "≤" },
  saturation: { metric: "all_saturated", limit: null, sense: "VDS ≥ VDSAT for every device" },
  yield: { metric: "mc_yield", limit: ["monte_carlo", "min_yield"], sense: "≥" },
};
const PER_FREQUENCY = [ // pinch_100khz limits pinch_ratio_100khz...
  [/^pinch_(\w+)$/, (f) => ({ metric: `pinch_ratio_${f}`, limit: ["emulator", "max_pinch_ratio"], sense: "≤" })],
  [/^asymmetry_(\w+)$/, (f) => ({ metric: `loop_asymmetry_${f}`, limit: ["emulator", "max_asymmetry"], sense: "≤" })],
];

// A circuit package's limit, as optimizer.circuit_problem.constraint_names writes it: "gain_db >= 60".
const PACKAGE_LIMIT = /^(\w+) (>=|<=) (\S+)$/;

export function constraintRule(name) {
  const limit = name.match(PACKAGE_LIMIT);
  if (limit) return { metric: limit[1], value: Number(limit[3]), sense: limit[2] === ">=" ? "≥" : "≤" };
  if (CONSTRAINTS[name]) return CONSTRAINTS[name];
  for (const [pattern, rule] of PER_FREQUENCY) {
    const match = name.match(pattern);
    if (match) return rule(match[1]);
  }
  return { metric: name, limit: null, sense: name };
}

// A constraint in words: "DC gain ≥ 40.00 dB".
export function constraintText(name, spec) {
  const rule = constraintRule(name);
  if (rule.value !== undefined) return `${rule.sense} ${format(rule.metric, rule.value)}`;
  if (!rule.limit) return rule.sense;
  const limit = rule.limit.reduce((value, key) => value?.[key], spec);
  return `${rule.sense} ${format(rule.metric, limit)}`;
}

// Which way each objective's metric is better, as the service says (GET /run-options).
export function registerObjectives(objectives) {
  for (const { metric, goal } of Object.values(objectives)) {
    QUANTITIES[metric] = { ...quantity(metric), goal };
  }
}

// The API writes non-finite numbers as "inf", "-inf", "nan".
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  return NaN;
}

// What a metric is: from the table, else from the unit its name ends in (the optimizer names every
// number with its unit: l_w1_um, vb_v, pinch_ratio_1mhz...).
const SUFFIXES = [["_um", "m", 1e-6], ["_hz", "Hz"], ["_db", "dB"], ["_deg", "deg"], ["_v", "V"], ["_a", "A"], ["_w", "W"],
  ["_s", "s"], ["_j", "J"], ["_f", "F"]];
export function quantity(name) {
  if (QUANTITIES[name]) return QUANTITIES[name];
  if (name.startsWith("margin_v.")) return { label: `VDS−VDSAT of ${name.slice(9)}`, unit: "V" };
  const bias = name.match(/^(vb\w*)_v$/); // a free bias pin's voltage (ota.topology.BIAS_PINS)
  if (bias) return { label: `Bias ${bias[1]}`, unit: "V" };
  const length = name.match(/^l_(\w+)_um$/);
  if (length) return { label: `Length of ${length[1].toUpperCase()}`, unit: "m", scale: 1e-6 };
  const frequency = name.match(/^(pinch_ratio|loop_asymmetry)_(\d+(?:p\d+)?)([kmg]?)hz$/); // optimizer.followup.frequency_label
  if (frequency) {
    const [, what, number, prefix] = frequency;
    return { label: `Emulator ${what.replace("_", " ")} at ${number.replace("p", ".")} ${prefix.toUpperCase().replace("K", "k")}Hz`, unit: "" };
  }
  const [, unit, scale] = SUFFIXES.find(([suffix]) => name.endsWith(suffix)) || [null, "", 1];
  return { label: name, unit, scale };
}

function exponentOf(value) {
  if (!Number.isFinite(value) || value === 0) return 0;
  return Math.min(12, Math.max(-15, Math.floor(Math.log10(Math.abs(value)) / 3) * 3));
}

function trimmed(value, digits) {
  return Number(value.toPrecision(digits)).toString();
}

// A number with its unit in engineering notation: 3.351e-5 A -> "33.51 µA"; 40.23 dB -> "40.23 dB".
export function eng(value, unit, digits = DIGITS) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string" && !["inf", "-inf", "nan"].includes(value)) return value;
  const x = num(value);
  if (Number.isNaN(x)) return "not measured";
  if (!Number.isFinite(x)) return `${x > 0 ? "" : "−"}∞ ${unit}`.trim();
  if (unit === "dB") return `${x.toFixed(2)} dB`;
  if (unit === "deg") return `${x.toFixed(2)}°`;
  if (unit === "bool") return x ? "yes" : "no";
  if (unit === "°C" || unit === "%") return `${trimmed(x, digits)} ${unit}`;
  if (unit === "") return trimmed(x, digits);
  let exponent = exponentOf(x);
  let mantissa = Number((x / 10 ** exponent).toPrecision(digits));
  if (Math.abs(mantissa) >= 1000 && exponent < 12) { exponent += 3; mantissa = Number((x / 10 ** exponent).toPrecision(digits)); }
  return `${trimmed(mantissa, digits).replace("-", "−")} ${PREFIXES[exponent]}${unit}`;
}

// A number on a chart's axis or tooltip, whose unit the axis names: 4 significant digits, no exponent.
export function tick(value, digits = DIGITS) {
  return Number.isFinite(value) ? trimmed(value, digits) : String(value);
}

// Corners and temperatures of a run: "tt, ss · 27 °C, 85 °C".
export function conditions(spec, separator = ", ") {
  return `${spec.corners.join(separator)} · ${spec.temps_c.map((t) => eng(t, "°C")).join(separator)}`;
}

// A metric or other named quantity, formatted: format("rmse_a", 3.351e-5) -> "33.51 µA".
export function format(name, value) {
  const q = quantity(name);
  return typeof value === "number" && q.scale ? eng(value * q.scale, q.unit) : eng(value, q.unit);
}

// How a chart shows a quantity: one prefix for the whole axis, chosen from the largest value.
// Returns { factor, unit, name, log, scale(v) } with scale(v) = v / factor (for the axis data).
export function axisScale(name, values = []) {
  const q = quantity(name), stored = q.scale || 1;
  const finite = values.map((v) => num(v) * stored).filter(Number.isFinite);
  let factor = 1, unit = q.unit;
  if (!["dB", "deg", "", "bool", "°C", "%"].includes(q.unit)) {
    const exponent = exponentOf(Math.max(...finite.map(Math.abs), 0));
    factor = 10 ** exponent;
    unit = `${PREFIXES[exponent]}${q.unit}`;
  }
  if (unit === "deg") unit = "°";
  const direction = q.goal === "max" ? ", higher is better" : q.goal === "min" ? ", lower is better" : "";
  // a log axis only over a decade or more: ECharts draws no tick inside a narrower one (12-16 MHz)
  const positive = finite.filter((v) => v > 0);
  const log = Boolean(q.log) && positive.length === finite.length && positive.length > 1 && Math.max(...positive) >= 10 * Math.min(...positive);
  return {
    factor, unit, log, label: q.label,
    name: `${q.label}${unit ? ` (${unit})` : ""}${direction}`,
    scale: (v) => (num(v) * stored) / factor,
  };
}

// The unit a designer types a limit of ``name`` in, and its factor to SI: ("rmse_a") -> ["µA", 1e-6].
export function inputUnit(name) {
  const q = quantity(name);
  const prefix = q.input || "";
  return [q.unit === "deg" ? "°" : `${prefix}${q.unit}`, 10 ** (PREFIX_EXPONENT[prefix] || 0)];
}

// Whether a design meets each constraint of its run, from the evaluation's stored constraint value
// (<= 0 when met, as the optimizer judged it), with the metric it limits and the limit in words.
// A circuit run's saturation constraint is its worst margin (it has no all_saturated flag).
export function constraintRows(run, evaluation) {
  return run.constraint_names.map((name, i) => {
    const g = num(evaluation.constraints[i]);
    const circuitCheck = run.circuit && CIRCUIT_CHECKS[name];
    const metric = circuitCheck ? circuitCheck.metric : constraintRule(name).metric;
    const limit = circuitCheck ? circuitCheck.text : constraintText(name, run.spec);
    return { name, metric, limit, pass: Number.isFinite(g) && g <= 0, g };
  });
}
const CIRCUIT_CHECKS = {
  saturation: { metric: "saturation_margin_v", text: "≥ 0 V (VDS ≥ VDSAT for every checked device)" },
  converged: { metric: "converged", text: "simulated" },
};
