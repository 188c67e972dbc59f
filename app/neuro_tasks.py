"""The neuromorphic and memristor simulations, as they run inside the simulation pool's processes.

Each function takes plain, validated values and returns JSON-ready data (non-finite floats as the
API's strings); a ValueError (unknown corner, a pulse that cannot reach its target...) reaches the
route as 422. Library imports stay inside the functions: the pool's processes import them once,
the API process never loads ngspice.
"""

from __future__ import annotations

from typing import Any

from gmopt.floats import encode_floats

MAX_PROGRAM_PULSES = 1000


def emulate_point(setup: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``run_emulator`` for one stored point; ``setup`` has topology, var, technology, corner, temp_c, inverter_scale."""
    from neuromorphic.emulator import EmulatorOptions, run_emulator

    return encode_floats(run_emulator(**setup, options=EmulatorOptions(**options)).to_dict())


def neuron_point(setup: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``run_neuron`` for one stored point (spikes, energy, area; no waveforms)."""
    from neuromorphic.neuron import NeuronOptions, run_neuron

    return encode_floats(run_neuron(**setup, options=NeuronOptions(**options)).to_dict())


def memristor_iv(request: dict[str, Any]) -> dict[str, Any]:
    """``request``: model, amplitude_v, freq_hz, initial_ohm (``MemristorIvRequest``)."""
    from memristor.iv import sine_loop, summary
    from memristor.models import get_model

    loop = sine_loop(get_model(request["model"]), request["freq_hz"], request["amplitude_v"], request["initial_ohm"])
    return encode_floats({**request, **summary(loop, request["freq_hz"])})


def memristor_program(request: dict[str, Any]) -> dict[str, Any]:
    """``request``: model, from_ohm, to_ohm, amplitude_v, width_s, period_s (``MemristorProgramRequest``).

    Each pulse costs about 12 ms (ngspice and the ODE): a case that needs more than
    ``MAX_PROGRAM_PULSES`` by eq. 12/13 is refused before it is simulated, and the simulation stops
    there too (eq. 12/13 can be optimistic for states outside [0, 1]), well inside the time-out.
    """
    from memristor.models import get_model
    from memristor.programming import analytic_time, paper_example, program

    pulses = {name: request[name] for name in ("from_ohm", "to_ohm", "amplitude_v", "width_s", "period_s")}
    model = get_model(request["model"])
    device = model.with_memristance(pulses["from_ohm"])
    needed_s, _ = analytic_time(device, device.x0, device.state_for(pulses["to_ohm"]), pulses["amplitude_v"])
    if needed_s / pulses["width_s"] > MAX_PROGRAM_PULSES:
        raise ValueError(f"about {needed_s / pulses['width_s']:.3g} pulses of {pulses['width_s']:g} s would be needed; "
                         f"this service simulates at most {MAX_PROGRAM_PULSES}: use longer or larger pulses")
    result = program(model, **pulses, max_pulses=MAX_PROGRAM_PULSES)
    example = paper_example(pulses["from_ohm"], pulses["to_ohm"], pulses["amplitude_v"])
    return encode_floats({**result.to_json(), "paper": example})


def memristor_network(k: float | None) -> dict[str, Any]:
    """The 5-4-2 network in ngspice and numpy with the same k (default: fitted to the activation circuit)."""
    from memristor.activation import fit_activation
    from memristor.network import NetworkSpec, numpy_network, spice_network

    spec = NetworkSpec()
    coefficient = k if k is not None else fit_activation().k
    return encode_floats({"k": coefficient, "spice": spice_network(spec, coefficient).to_json(),
                          "numpy": numpy_network(spec, coefficient).to_json()})
