// The one place that knows what each quantity is: its name for a designer, its SI unit, how it is
// written (engineering notation or fixed decimals), which way is better, and how a run's spec
// limits it. Every number on the page goes through format(), every chart axis through axisScale().

const PREFIXES = { "-15": "f", "-12": "p", "-9": "n", "-6": "µ", "-3": "m", "0": "", "3": "k", "6": "M", "9": "G", "12": "T" };
const PREFIX_EXPONENT = Object.fromEntries(Object.entries(PREFIXES).map(([exponent, prefix]) => [prefix, Number(exponent)]));
export const DIGITS = 4; // significant digits of engineering notation

// unit: SI unit (engineering prefixes), or "dB" / "deg" (fixed decimals, never prefixed).
// goal: "max" or "min" for the run's objectives; log: the axis spans decades.
// input: the unit a designer types a limit in (the run form), as a prefix of unit.
export const QUANTITIES = {
  gain_db: { label: "DC gain", unit: "dB", goal: "max", input: "" },
  bandwidth_hz: { label: "−3 dB bandwidth", unit: "Hz", log: true, input: "M" },
  ugf_hz: { label: "Unity-gain frequency", unit: "Hz", log: true },
  phase_margin_deg: { label: "Phase margin", unit: "deg", input: "" },
  gm_s: { label: "Transconductance Gm", unit: "S", input: "m" },
  rmse_a: { label: "Linearity RMSE", unit: "A", goal: "min", input: "µ" },
  offset_v: { label: "Input offset", unit: "V", input: "m" },
  power_w: { label: "Power", unit: "W", goal: "min" },
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
  percent: { label: "Progress", unit: "%" },
};

// What each of the optimizer's constraints (optimizer.problem.constraint_names) limits, and how.
export const CONSTRAINTS = {
  gain: { metric: "gain_db", limit: "gain_min_db", sense: "≥" },
  bandwidth: { metric: "bandwidth_hz", limit: "bandwidth_min_hz", sense: "≥" },
  phase_margin: { metric: "phase_margin_deg", limit: "phase_margin_min_deg", sense: "≥" },
  offset: { metric: "offset_v", limit: "offset_max_v", sense: "magnitude ≤" },
  rmse: { metric: "rmse_a", limit: "rmse_max_a", sense: "≤" },
  gm_min: { metric: "gm_s", limit: "gm_min_s", sense: "≥" },
  gm_max: { metric: "gm_s", limit: "gm_max_s", sense: "≤" },
  saturation: { metric: "all_saturated", limit: "require_saturation", sense: "" },
};

// Objectives as the optimizer minimises them (optimizer.problem.OBJECTIVE_METRICS): shown as metrics.
export const OBJECTIVES = { rmse: "rmse_a", gain: "gain_db", power: "power_w" };

// The API writes non-finite numbers as "inf", "-inf", "nan".
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  return NaN;
}

export function quantity(name) {
  if (name.startsWith("margin_v.")) return { label: `VDS−VDSAT of ${name.slice(9)}`, unit: "V" };
  return QUANTITIES[name] || { label: name, unit: "" };
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
  return eng(value, quantity(name).unit);
}

// How a chart shows a quantity: one prefix for the whole axis, chosen from the largest value.
// Returns { factor, unit, name, log, scale(v) } with scale(v) = v / factor (for the axis data).
export function axisScale(name, values = []) {
  const q = quantity(name);
  const finite = values.map(num).filter(Number.isFinite);
  let factor = 1, unit = q.unit;
  if (!["dB", "deg", "", "bool", "°C", "%"].includes(q.unit)) {
    const exponent = exponentOf(Math.max(...finite.map(Math.abs), 0));
    factor = 10 ** exponent;
    unit = `${PREFIXES[exponent]}${q.unit}`;
  }
  if (unit === "deg") unit = "°";
  const direction = q.goal === "max" ? ", higher is better" : q.goal === "min" ? ", lower is better" : "";
  return {
    factor, unit, log: Boolean(q.log), label: q.label,
    name: `${q.label}${unit ? ` (${unit})` : ""}${direction}`,
    scale: (v) => num(v) / factor,
  };
}

// The unit a designer types a limit of ``name`` in, and its factor to SI: ("rmse_a") -> ["µA", 1e-6].
export function inputUnit(name) {
  const q = quantity(name);
  const prefix = q.input || "";
  return [q.unit === "deg" ? "°" : `${prefix}${q.unit}`, 10 ** (PREFIX_EXPONENT[prefix] || 0)];
}

// Whether a metric meets one constraint of a run, from the evaluation's stored constraint value
// (<= 0 when met, as the optimizer judged it), and the limit it is held to, formatted.
export function constraintRows(run, evaluation) {
  const limits = run.spec.constraints || {};
  return run.constraint_names.map((name, i) => {
    const rule = CONSTRAINTS[name] || { metric: name, limit: null, sense: "" };
    const g = num(evaluation.constraints[i]);
    const limit = rule.limit === "require_saturation" ? "VDS ≥ VDSAT for every device" : `${rule.sense} ${format(rule.metric, limits[rule.limit])}`;
    return { name, metric: rule.metric, limit, pass: Number.isFinite(g) && g <= 0, g };
  });
}
