"""Persistent in-process ngspice session on the shared library (libngspice), via ctypes.

Why ctypes rather than PySpice: PySpice raises whenever ngspice writes to stderr, even for
harmless BSIM3 warnings (../shared/FACTS.md), and re-parses circuits; here the circuit stays
loaded and only ngspice's error lines and its own result decide whether a run failed.

libngspice keeps one global simulator state per loaded copy of the library. The first session
of a process uses the system library; any further live session in the same process (and a
session recovering from ngspice's controlled exit) loads a private copy of the file, so each
session owns an independent simulator.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import re
import ctypes.util
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.base import DEFAULT_TIMEOUT_S, Engine, Results, Vectors, check_analysis, check_name
from engine.errors import EngineUnavailable, SimulationError, SimulationTimeout

_VF_COMPLEX = 2
_POLL_S = 2e-4
_ERROR_MARKERS = ("error", "aborted", "too small", "singular matrix", "failed", "no convergence", "could not find")
_MODEL = re.compile(r"^[A-Za-z0-9_.]+(:[A-Za-z0-9_.]+)?$")
_HARMLESS = ("is less than w", "warning")
# Analyses that end by themselves: ngspice gives up on a point after a fixed number of Newton
# iterations (itl1 for the operating point with its gmin and source stepping, itl2 per DC sweep
# point; AC is a linear solve per frequency), so they need no time limit and run in the calling
# thread. In ngspice's background thread each analysis cost 0.2 ms more (a thread started, and
# five callbacks into Python from a thread Python has not seen, each making a thread state):
# a quarter of a fig7 candidate's dc + ac. A transient may take any number of time steps: it
# runs in the background thread, halted after its timeout.
_BOUNDED = ("op", "dc", "ac")
# Longest command line sent: ngspice 39 dropped the commands of a line beyond about 1,000
# characters (37 of 40 ";"-separated alters applied, measured); half of that is kept to spare.
_LINE_CHARS = 500


class _VectorInfo(ctypes.Structure):
    _fields_ = [
        ("v_name", ctypes.c_char_p),
        ("v_type", ctypes.c_int),
        ("v_flags", ctypes.c_short),
        # addresses (ints, None for NULL) rather than pointers: no cast per vector read
        ("v_realdata", ctypes.c_void_p),
        ("v_compdata", ctypes.c_void_p),
        ("v_length", ctypes.c_int),
    ]


_SendChar = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_SendStat = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_ControlledExit = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_bool, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p)
_SendData = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_SendInitData = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_BGThreadRunning = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_bool, ctypes.c_int, ctypes.c_void_p)

_pool: list["_Library"] = []
_pool_lock = threading.Lock()


def library_path() -> str:
    """Where libngspice is: ``GMOPT_NGSPICE_LIB`` if set, else the system's ``libngspice.so.0``."""
    configured = os.environ.get("GMOPT_NGSPICE_LIB")
    if configured:
        return configured
    found = ctypes.util.find_library("ngspice")
    if found:
        return found
    raise EngineUnavailable(
        "libngspice was not found: install Debian's libngspice0 (make run does) "
        "or set GMOPT_NGSPICE_LIB to the library file"
    )


def library_file() -> str:
    """The file ``library_path`` names (a soname resolved): what identifies the simulator a result came from."""
    return _resolve(library_path())


def _is_error(line: str) -> bool:
    lower = line.lower()
    if any(mark in lower for mark in _HARMLESS) and "error" not in lower:
        return False
    return any(mark in lower for mark in _ERROR_MARKERS)


class _Library:
    """One loaded, initialised copy of libngspice; initialising a copy twice crashes ngspice,
    so copies are kept in a pool and lent to one engine at a time."""

    def __init__(self, path: str, private_copy: Path | None) -> None:
        self.private_copy = private_copy
        self.owner: SharedEngine | None = None
        self.exited = False
        try:
            self.lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        except OSError as exc:
            raise EngineUnavailable(f"could not load libngspice from {path}: {exc}") from exc
        self._declare()
        self.callbacks = (
            _SendChar(self._on_output),
            # NULL, not a no-op: ngspice then skips building and sending status and per-point
            # data (a Python call per sweep point), a fifth of a candidate's time.
            _SendStat(),
            _ControlledExit(self._on_exit),
            _SendData(),
            _SendInitData(),
            _BGThreadRunning(self._on_background),
        )
        self.lib.ngSpice_Init(*self.callbacks, None)
        # Debian's libngspice runs OpenMP threads that fight each other across worker processes.
        self.command("set num_threads=1")
        self.command("set noaskquit")

    @classmethod
    def borrow(cls, owner: "SharedEngine") -> "_Library":
        """A free initialised copy, or a new one: the system file first, then private copies."""
        with _pool_lock:
            free = next((library for library in _pool if library.owner is None and not library.exited), None)
            if free is None:
                path = library_path()
                private_copy = None
                if _pool:
                    folder = Path(tempfile.mkdtemp(prefix="gmopt-ngspice-"))
                    private_copy = folder / "libngspice.so"
                    shutil.copy(_resolve(path), private_copy)
                    path = str(private_copy)
                free = cls(path, private_copy)
                _pool.append(free)
            free.owner = owner
            return free

    def give_back(self) -> None:
        if not self.exited:
            self.command("destroy all")
            self.command("remcirc")
        self.owner = None

    def _declare(self) -> None:
        lib = self.lib
        lib.ngSpice_Init.argtypes = [_SendChar, _SendStat, _ControlledExit, _SendData, _SendInitData, _BGThreadRunning, ctypes.c_void_p]
        lib.ngSpice_Command.argtypes = [ctypes.c_char_p]
        lib.ngSpice_Circ.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.ngGet_Vec_Info.argtypes = [ctypes.c_char_p]
        lib.ngGet_Vec_Info.restype = ctypes.POINTER(_VectorInfo)
        lib.ngSpice_CurPlot.restype = ctypes.c_char_p
        lib.ngSpice_AllVecs.argtypes = [ctypes.c_char_p]
        lib.ngSpice_AllVecs.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngSpice_running.restype = ctypes.c_bool

    def command(self, text: str) -> None:
        self.lib.ngSpice_Command(text.encode())

    def _on_output(self, text: bytes, _ident: int, _user: object) -> int:
        if self.owner is not None:
            self.owner._on_output(text.decode("utf-8", "replace"))
        return 0

    def _on_background(self, no_run: bool, _ident: int, _user: object) -> int:
        if no_run and self.owner is not None:
            self.owner._finished.set()
        return 0

    def _on_exit(self, status: int, _unload: bool, _quit: bool, _ident: int, _user: object) -> int:
        self.exited = True
        if self.owner is not None:
            self.owner._errors.append(f"ngspice exited with status {status}")
        return 0


class SharedEngine(Engine):
    """One ngspice simulator kept alive in this process, with one circuit loaded."""

    def __init__(self) -> None:
        super().__init__()
        self._log: list[str] = []
        self._log_lines = 500  # kept for diagnostics; a full showmod prints about 1,000
        self._errors: list[str] = []
        self._netlist: str | None = None
        # the text of each instance value sent since the circuit was last parsed, by (instance,
        # key as ``resize`` or ``alter`` name it); a reset or a load drops every alter
        self._sent: dict[tuple[str, str], str] = {}
        self._names: dict[bytes, str] = {}  # vector names as ngspice gives them -> as results key them
        self._prefixes: dict[tuple[str, str], tuple[tuple[str, str], str]] = {}  # by (instance, key) as ``resize`` names them
        self._finished = threading.Event()
        self._library: _Library | None = _Library.borrow(self)

    @property
    def _lib(self) -> ctypes.CDLL:
        if self._library is None:
            raise SimulationError("this ngspice session is closed")
        return self._library.lib

    @property
    def _exited(self) -> bool:
        return self._library is not None and self._library.exited

    def _on_output(self, line: str) -> None:
        self._log.append(line)
        del self._log[:-self._log_lines]
        if line.startswith("stderr") and _is_error(line):
            self._errors.append(line.removeprefix("stderr").strip())

    def close(self) -> None:
        if self._library is not None:
            self._library.give_back()
            self._library = None

    # -- commands --------------------------------------------------------------------------
    def _command(self, command: str) -> None:
        self._lib.ngSpice_Command(command.encode())

    def _recover(self) -> None:
        """After ngspice's controlled exit the library state is gone: start a fresh copy."""
        netlist = self._netlist
        if self._library is not None:
            self._library.owner = None
        self._library = _Library.borrow(self)
        if netlist is not None:
            self._load_text(netlist)
            self._apply()

    def load(self, netlist: str) -> None:
        self._forget_changes()
        if self._exited:
            self._recover()
        self._netlist = None
        self._load_text(netlist)
        self._netlist = netlist

    def _load_text(self, netlist: str) -> None:
        self._sent.clear()
        self._command("destroy all")
        self._command("remcirc")
        self._errors.clear()
        lines = [line.encode() for line in netlist.splitlines()]
        if not lines or lines[-1].strip().lower() != b".end":
            lines.append(b".end")
        array = (ctypes.c_char_p * (len(lines) + 1))(*lines, None)
        with _CtrlCAfter():
            self._lib.ngSpice_Circ(array)
        if self._errors or self._exited:
            errors = list(self._errors)
            self._command("remcirc")
            raise SimulationError("ngspice could not load the circuit", errors)

    def set_params(self, params: Mapping[str, float]) -> None:
        super().set_params(params)
        self._apply()

    can_inspect = True

    def resize(self, params: Mapping[str, float], alters: Mapping[str, Mapping[str, float]]) -> None:
        """The parameters are recorded, and the ``alter`` lines sent, not recorded: they follow from
        the parameters. On sky130 a reset costs about 30 ms (it re-evaluates the binned models), an
        alter microseconds (5 us on generic180, 16 us on sky130).

        No ``alterparam`` is sent here: it only matters to a later reset's re-parse, and every
        reset goes through ``_apply``, which sends each recorded parameter first. Of a device
        that gets a new value, only the values that differ from what it last received since the
        circuit was parsed are sent (fig7 on generic180: its ``m`` never changes). A device with no
        new value gets every value again: ngspice's state is not the same without that alter
        (measured: skipping them moved 3 of 600 generic180 candidates by 1e-13, and a result must
        not depend on the candidate a worker simulated before). Why: ngspice 39's ``alter`` of a
        MOSFET's ``w`` or ``l`` looks its model bin up again (``if_set_binned_model``), which moves
        the instance to the head of its model's instance list, the order the devices are loaded
        into the matrix in; so the order of the last ``w`` alters sets the order of the sums
        (``show all`` lists fig7's devices in the reverse order of the alters after a resize)."""
        Engine.set_params(self, params)
        sent, prefixes = self._sent, self._prefixes
        commands, sending, reprs = [], {}, {}
        for device, values in alters.items():
            texts = []
            changed = False
            for key, value in values.items():  # a refused name or number sends nothing of this device
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError(f"{value!r} is not a finite number")
                known = prefixes.get((device, key)) or self._prefix(device, key)
                # all 17 digits (``repr``): as near as text gets to the number a re-parse computes
                # (``var*lambda``), where ``spice_number``'s 12 digits differ in the last bits;
                # ngspice's own number parser is not correctly rounded, and reads about 3 in 4 of
                # them back to the very double (the same text always to the same one)
                text = reprs.get(number) if number else None  # mirror pairs share widths; 0.0 == -0.0
                if text is None:
                    text = reprs[number] = repr(number)
                new = sent.get(known[0]) != text
                changed |= new
                texts.append((new, known, text))
            for new, (sent_key, command), text in texts:
                if new or not changed:
                    commands.append(command + text)
                    sending[sent_key] = text
        # a refused value above sends none of them
        for line in _joined(commands):
            self._command(line)
        sent.update(sending)

    def _prefix(self, device: str, key: str) -> tuple[tuple[str, str], str]:
        """The ``_sent`` key and the command up to the value that alter ``key`` of ``device``,
        once its names are checked; kept per pair (``resize`` sends about 30 per candidate)."""
        name, lowered = check_name(device), key.lower()
        if lowered.startswith("model."):  # a card of this instance's own (``model_parameters``)
            command = f"altermod @{name}[{check_name(lowered.removeprefix('model.'))}]="
        else:
            command = f"alter {name} {check_name(lowered)}="
        known = self._prefixes[(device, key)] = ((name, lowered), command)
        return known

    def instance_value(self, instance: str, name: str) -> float | None:
        """Read through ngspice's ``@instance[name]`` vector, which needs no analysis."""
        pointer = self._lib.ngGet_Vec_Info(f"@{check_name(instance)}[{check_name(name)}]".encode())
        return _first_real(pointer)

    def model_limits(self, instance: str) -> dict[str, float]:
        """From ``showmod``'s lines (``wmin  7e-06``); a card without bins gives BSIM's defaults (0 to 1 m)."""
        wanted = ("lmin", "lmax", "wmin", "wmax")
        self._log.clear()  # the log is kept for diagnostics only: here it holds showmod's answer
        self._command(f"showmod {check_name(instance)} : {' '.join(wanted)}")
        limits = {}
        for line in self._log:
            words = line.removeprefix("stdout").split()
            if len(words) == 2 and words[0].lower() in wanted:
                limits[words[0].lower()] = float(words[1])
        if set(limits) != set(wanted):
            raise SimulationError(f"ngspice showed no bin limits for {instance}", self._log[-5:])
        return limits

    def model_parameters(self, instance: str) -> tuple[str, dict[str, float]]:
        """The card an instance uses as ``showmod`` names it (``xota.xn2:nshort_model``: sky130's
        cards are copied per subcircuit instance) and its numeric parameters as it prints them (6 digits)."""
        self._log.clear()
        self._log_lines = 100_000
        try:
            self._command(f"showmod {check_name(instance)}")
        finally:
            self._log_lines = 500
        base, values = None, {}
        for line in self._log:
            words = line.removeprefix("stdout").split()
            if len(words) == 2 and words[0] == "model":
                base = words[1]
            elif len(words) == 2:
                with contextlib.suppress(ValueError):
                    values[words[0].lower()] = float(words[1])
        if base is None or not values:
            raise SimulationError(f"ngspice showed no model for {instance}", self._log[-5:])
        return base, values

    def model_card(self, base: str, parameter: str) -> str:
        """The full name of a card ``showmod`` calls ``base``: a binned card's copy carries its
        bin (``xota.xn2:nshort_model.4``), and only the chosen bin's copy exists."""
        for name in (base, *(f"{base}.{number}" for number in range(1000))):
            if self.model_value(name, parameter) is not None:
                return name
        raise SimulationError(f"cannot find the model card {base}")

    def model_value(self, model: str, name: str) -> float | None:
        """A model card's parameter at full precision (``@card[name]``), None if there is none."""
        if not _MODEL.match(model):
            raise ValueError(f"{model!r} is not a model name")
        pointer = self._lib.ngGet_Vec_Info(f"@{model}[{check_name(name)}]".encode())
        return _first_real(pointer)

    def alter(self, device: str, **values: float) -> None:
        """Only the new ``alter`` lines: the loaded circuit already carries every earlier change,
        and replaying them (with ``alterparam``'s ``reset``) per device would cost a reset per
        call: a Monte Carlo sample alters two values of every device."""
        super().alter(device, **values)
        name = device.lower()
        for key in values:  # sent even if unchanged (see ``resize``): a caller alters what changes
            sent, text = (name, key.lower()), self._alters[(name, key.lower())]
            self._command(f"alter {name} {key.lower()}={text}")
            self._sent[sent] = text

    def _apply(self) -> None:
        """Re-parse at the recorded parameters and replay the recorded alters: the circuit then
        holds only those (``resize``'s alters are gone with the reset)."""
        self._sent.clear()
        for command in self._change_commands():
            self._command(command)
        self._sent.update(self._alters)

    def run(
        self, analyses: Mapping[str, str], timeout_s: float = DEFAULT_TIMEOUT_S, vectors: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        if self._netlist is None:
            raise SimulationError("no circuit is loaded: call load() first")
        if self._exited:
            self._recover()
        results: Results = {}
        try:
            for key, command in analyses.items():
                results[key] = self._run_one(check_analysis(command), timeout_s, (vectors or {}).get(key))
        finally:
            self._command("destroy all")
        return results

    def _run_one(self, command: str, timeout_s: float, wanted: Collection[str] | None = None) -> Vectors:
        """One analysis: ``op``, ``dc`` and ``ac`` in this thread (``_BOUNDED``), anything else in
        ngspice's background thread, halted after ``timeout_s``."""
        self._errors.clear()
        before = self._lib.ngSpice_CurPlot()
        if command.split(maxsplit=1)[0].lower() in _BOUNDED:
            with _CtrlCAfter():
                self._command(command)
        else:
            self._finished.clear()
            self._command(f"bg_{command}")
            if not self._finished.wait(timeout_s):
                self._halt()
                raise SimulationTimeout(f"'{command}' did not finish within {timeout_s:g} s and was halted")
            while self._lib.ngSpice_running():
                time.sleep(_POLL_S)
        plot = self._lib.ngSpice_CurPlot()
        if self._errors or self._exited or plot == before or plot in (None, b"const"):
            errors = list(self._errors) or ["the analysis produced no output"]
            self._command("reset")
            self._apply()
            raise SimulationError(f"ngspice failed in '{command}'", errors)
        return self._vectors(plot, wanted)

    def _halt(self) -> None:
        self._command("bg_halt")
        while self._lib.ngSpice_running():
            time.sleep(_POLL_S)
        self._command("reset")
        self._apply()

    def _vectors(self, plot: bytes, wanted: Collection[str] | None = None) -> Vectors:
        """Every vector of the plot (``wanted``: only those named), copied (ngspice frees them
        with the plot) into one float64 block, a view of it each (complex128 for a complex
        vector): a memmove per vector. Per vector that costs 1.4 us against 1.8 us for a copy
        into its own bytes (np.ctypeslib.as_array: 20x more); an OTA's AC measures read 2 of
        the 27 vectors its deck saves."""
        names = self._lib.ngSpice_AllVecs(plot)
        prefix = plot + b"."
        vec_info, lowered = self._lib.ngGet_Vec_Info, self._names
        found = []  # (name, address, first double in the block, doubles, complex)
        total = index = 0
        while names[index]:
            raw = names[index]
            index += 1
            name = lowered.get(raw)
            if name is None:
                name = lowered[raw] = raw.decode().lower()
            if wanted is not None and name not in wanted:
                continue
            info = vec_info(prefix + raw).contents
            is_complex = bool(info.v_flags & _VF_COMPLEX)
            doubles = (2 if is_complex else 1) * info.v_length
            found.append((name, info.v_compdata if is_complex else info.v_realdata, total, doubles, is_complex))
            total += doubles
        block = np.empty(total)
        start_address, memmove = block.ctypes.data, ctypes.memmove
        vectors: Vectors = {}
        for name, address, first, doubles, is_complex in found:
            if doubles:
                memmove(start_address + 8 * first, address, 8 * doubles)
            values = block[first:first + doubles]
            vectors[name] = values.view(np.complex128) if is_complex else values
        return vectors


class _CtrlCAfter:
    """Around an ngspice call that writes output (an analysis, a circuit load): a Ctrl-C pressed
    meanwhile takes effect once ngspice returns. Python runs its SIGINT handler at the next line
    of Python it executes, which is then one of ngspice's output callbacks, and ctypes swallows an
    exception raised in a callback: the run went on as if nothing had been pressed. Only the main
    thread receives signals; elsewhere this does nothing. Costs 8 us."""

    def __enter__(self) -> None:
        self.main = threading.current_thread() is threading.main_thread()
        if self.main:
            self.caught: list[Any] = []
            self.previous = signal.signal(signal.SIGINT, lambda _signum, frame: self.caught.append(frame))

    def __exit__(self, *exc: object) -> None:
        if not self.main:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.caught and callable(self.previous):
            self.previous(signal.SIGINT, self.caught[0])  # Python's own handler raises KeyboardInterrupt here
        elif self.caught and self.previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


def _joined(commands: list[str], limit: int = _LINE_CHARS) -> list[str]:
    """``commands`` as few lines as ngspice takes, separated by ";" as its command shell reads
    them: the 35 alters of a fig7 candidate in 125 instead of 175 us."""
    lines: list[str] = []
    for command in commands:
        if lines and len(lines[-1]) + 3 + len(command) <= limit:
            lines[-1] += " ; " + command
        else:
            lines.append(command)
    return lines


def _first_real(pointer: "ctypes._Pointer[_VectorInfo]") -> float | None:
    """The first value of a real vector ngGet_Vec_Info found, None if there is none."""
    if not pointer or not pointer.contents.v_realdata or pointer.contents.v_length < 1:
        return None
    return ctypes.c_double.from_address(pointer.contents.v_realdata).value


def _resolve(name: str) -> str:
    """find_library gives a soname; the copy needs the file it names."""
    if os.path.isabs(name):
        return name
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate.resolve())
    raise EngineUnavailable(f"cannot locate the file of {name} to start a second ngspice session")
