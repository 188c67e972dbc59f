"""gm/ID sizing of a circuit package: electrical groups (a width found from gm/ID, L and I_D
through the technology's tables) and the gm/ID seeded start of a circuit run.

Electrical group (``Circuit.sizing``): W = I_D / (m (I_D/W)(gm/ID, L, VDS, VSB)), the table's
current density at its reference width, as ``lut.sizing.size_transistor`` (unchecked) computes it;
then snapped to the width variable's step or grid and clipped to its range.

Seeded start: the nominal design's DC operating point is simulated in the run's own testbench
(``CircuitBench.operating_point``), and each w variable whose devices have a role (or a marked
``gm_id``) is resized so that they run at that gm/ID at the current they carry: with the
measured gm/ID g_m and the target g_t, W_new = W x J(g_m) / J(g_t), J the table's density at
the device's L, VDS and VSB. The ratio, not I_D / J(g_t), cancels what the table misses of the
real device (a narrow device's density differs from the 10 um table's by up to 28 %,
docs/lut.md). Currents move as mirrors resize, so this is done ``SEED_PASSES`` times.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine import SimulationError
from lut.lookup import load_lut
from lut.technology import Condition

if TYPE_CHECKING:
    from circuits.model import Circuit, SizingGroup
    from optimizer.circuit_space import CircuitSpace, Column

# gm/ID (S/A) the seeded start gives a device by role: the input pair in moderate inversion
# (gm/ID against fT), loads, mirrors and tails in strong inversion (matching, small VDSAT share
# of the headroom is less important than mismatch there), cascodes between (small VDSAT), the
# second stage and the bias diodes at 10 (the OTA first sizing's values, ota.sizing.ROLE_GM_ID).
ROLE_GM_ID = {"input_pair": 15.0, "load": 8.0, "mirror": 8.0, "cascode": 12.0, "tail": 8.0, "gain_stage": 10.0, "bias": 10.0}
DEFAULT_VDS_FRACTION = 0.25  # an electrical group's table VDS when none is given: supply / 4 (0.45 V at 1.8 V)
MIN_CURRENT_A = 1e-9          # a device carrying less is off: its gm/ID says nothing
SEED_PASSES = 2


@dataclass
class Sized:
    """A row as a design: every column's value and every electrical group's width (SI, by name);
    ``notes`` say which widths were clipped to their range; ``error`` why a width could not be found."""

    design: dict[str, float]
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def group_width(
    circuit: "Circuit", group: "SizingGroup", condition: Condition, values: Mapping[str, float], width: "Column",
) -> tuple[float, str | None]:
    """The width (m) of ``group`` at ``values`` (the free variables and the group's gm/ID column),
    on ``width``'s step and within its bounds, and a note when the bounds clipped it. ValueError
    when the current is not positive or the bias lies outside the tables."""
    env = circuit.environment(values)
    devices = circuit.group_devices(group)
    first = circuit.parsed.element(devices[0])
    gm_id = float(values[group.column])
    length_m = (group.length or first.params["l"]).evaluate(env)
    multiplier = first.params["m"].evaluate(env) if "m" in first.params else 1.0
    current_a = group.current.evaluate(env)
    if not current_a > 0:
        raise ValueError(f"sizing group {group.width}: current {group.current.text} = {current_a:g} A must be positive")
    supply_v = circuit.testbench.supply_v or condition.technology.supply_v
    vds_v = group.vds.evaluate(env) if group.vds is not None else DEFAULT_VDS_FRACTION * supply_v
    vsb_v = group.vsb.evaluate(env) if group.vsb is not None else 0.0
    lut = load_lut(condition, circuit.devices[first.name].type)
    try:
        density = float(lut.lookup("ID_W", gm_id=gm_id, L=length_m, VDS=vds_v, VSB=vsb_v))
    except ValueError as exc:
        raise ValueError(f"sizing group {group.width}: {exc}") from exc
    wanted_m = current_a / (multiplier * density)
    snapped_m = width.value(width.encode(wanted_m))
    low_m, high_m = width.value(width.low), width.value(width.high)
    note = None
    if not low_m * (1 - 1e-9) <= wanted_m <= high_m * (1 + 1e-9):
        note = f"{group.width}: W {wanted_m * 1e6:.4g} um for gm/ID {gm_id:.4g} S/A at {current_a:.4g} A clipped to {snapped_m * 1e6:.4g} um"
    return snapped_m, note


def device_gm_id(circuit: "Circuit", device: str) -> float | None:
    """The gm/ID (S/A) the seeded start sizes ``device`` for: its marked ``gm_id``, else its role's."""
    binding = circuit.devices[device]
    return binding.gm_id if binding.gm_id is not None else ROLE_GM_ID.get(binding.role) if binding.role else None


@dataclass
class Seeding:
    """The seeded start: every column's value (by name), the w variables sized (-> the gm/ID,
    S/A, their devices were sized for) and, in words, what could not be."""

    columns: dict[str, float]
    seeded: dict[str, float]
    notes: list[str]

    def summary(self) -> str:
        """One line for the run's status: ``sized w_in at 15 S/A, ...; w_load: no device with a role``."""
        sized = ", ".join(f"{name} at {gm_id:.3g} S/A" for name, gm_id in self.seeded.items()) or "nothing"
        return "; ".join([f"sized {sized}", *self.notes])


def seed_design(circuit: "Circuit", space: "CircuitSpace", bench) -> Seeding:
    """The seeded start's column values, what was seeded and what could not be.

    ``bench``: the run's testbench at its first condition (``open_bench``), whose operating points
    the widths are sized from, with that condition's tables. A variable that cannot be
    seeded (no role, a device carrying ~0 A, a bias outside the tables) keeps its nominal value."""
    condition = bench.condition
    electrical = {group.width for group in circuit.sizing}
    columns = space.nominal_columns()
    notes: list[str] = []
    widths = []
    for variable in circuit.variables:
        if variable.kind != "w" or variable.name in electrical:
            continue
        targets = {device: device_gm_id(circuit, device) for device in variable.devices}
        marked = {device: target for device, target in targets.items() if target is not None}
        if not marked:
            notes.append(f"{variable.name}: no device with a role or gm_id" if variable.devices else f"{variable.name}: lists no devices")
            continue
        if len(set(marked.values())) > 1:
            listed = ", ".join(f"{device} {target:g}" for device, target in marked.items())
            notes.append(f"{variable.name}: its devices ask for different gm/ID ({listed}); sized for their geometric mean")
        widths.append((variable, marked))
    failed: dict[str, str] = {}
    passes = 0
    for _ in range(SEED_PASSES):
        sized = space.sized(space.encode(columns))
        if sized.error:
            notes.append(f"seeding stopped: {sized.error}")
            break
        try:
            op = bench.operating_point(space.bench_values(sized.design))
        except (SimulationError, ValueError) as exc:
            notes.append(f"seeding stopped: the operating point did not solve ({str(exc).strip()[:200]})")
            break
        env = circuit.environment(space.bench_values(sized.design))
        for variable, marked in widths:
            if variable.name in failed:
                continue
            try:
                columns[variable.name] = _resized_m(circuit, condition, sized.design[variable.name], marked, op, env)
            except ValueError as exc:
                failed[variable.name] = str(exc)
                columns[variable.name] = space.nominal_columns()[variable.name]
        passes += 1
    notes += [f"{name}: {reason}; kept nominal" for name, reason in failed.items()]
    seeded = {
        variable.name: math.exp(sum(map(math.log, marked.values())) / len(marked)) for variable, marked in widths if variable.name not in failed
    } if passes else {}
    return Seeding(columns, seeded, notes)


def _resized_m(
    circuit: "Circuit", condition: Condition, width_m: float, marked: Mapping[str, float],
    op: Mapping[str, Mapping[str, float]], env: Mapping[str, float],
) -> float:
    """One w variable's next width: the geometric mean over its marked devices of W J(g_m) / J(g_t)."""
    logs = []
    for device, target in marked.items():
        point = op[device]
        if point["id"] < MIN_CURRENT_A:
            raise ValueError(f"{device} carries {point['id']:.3g} A (off) at the operating point")
        element = circuit.parsed.element(device)
        length_m = element.params["l"].evaluate(env)
        lut = load_lut(condition, circuit.devices[device].type)
        at = {"L": length_m, "VDS": point["vds"], "VSB": point["vbs"]}
        try:
            wanted = float(lut.lookup("ID_W", gm_id=target, **at))
        except ValueError as exc:
            raise ValueError(f"{device} at gm/ID {target:g} S/A is outside the tables ({exc})") from exc
        measured_gm_id = point["gm"] / point["id"]
        try:
            found = float(lut.lookup("ID_W", gm_id=measured_gm_id, **at))
            logs.append(math.log(width_m * found / wanted))
        except ValueError:  # its gm/ID now lies beyond the tables: size from the table alone
            multiplier = element.params["m"].evaluate(env) if "m" in element.params else 1.0
            logs.append(math.log(point["id"] / (multiplier * wanted)))
    return math.exp(sum(logs) / len(logs))
