"""A run's results as one comparable document: ``python -m benchmarks.run_digest POP GENS WORKERS OUT``
runs fig7 on generic180 at seed 1 into OUT (unless OUT already holds a finished run) and writes
OUT/digest.json: every stored record without its timings (``wall_time_s``, ``sim_time_s``), every
generation's hypervolume and front, and the last checkpoint's population (X, F, G, CV, feasibility,
indices, rank, crowding), evaluation count and random state. Two digests of the same spec made by
two versions of the code are byte-equal when the change kept every result (``cmp a/digest.json
b/digest.json``): how the serial-step changes of the runner were checked, 20 x 50, 100 x 20 and 100 x 100.
"""
import hashlib
import json
import sys
from pathlib import Path
import numpy as np
from optimizer import checkpoint
from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec

if __name__ == "__main__":
    pop, gens, workers, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    if not (out / "status.json").exists():
        run_optimization(RunSpec(topology="fig7", technology="generic180", seed=1, pop_size=pop, generations=gens), FileRunStore(out), workers=workers)
    records = []
    for line in (out / "evaluations.jsonl").read_text().splitlines():
        r = json.loads(line)
        r.pop("wall_time_s"); r["metrics"].pop("sim_time_s", None)
        records.append(r)
    records.sort(key=lambda r: r["index"])
    state = checkpoint.loads(FileRunStore(out).last_checkpoint()[1])
    alg = state["algorithm"]
    P = alg.pop
    ck = {"next_index": state["next_index"], "n_gen": alg.n_gen, "n_eval": alg.evaluator.n_eval,
          "rng": repr(alg.random_state.bit_generator.state) if hasattr(alg, "random_state") and alg.random_state is not None else None,
          **{k: np.asarray(P.get(k)).tolist() for k in ("X", "F", "G", "CV", "feas", "index", "rank", "crowding")}}
    digest = {"records": records, "generations": [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()], "checkpoint": ck}
    text = json.dumps(digest, sort_keys=True)
    (out / "digest.json").write_text(text)
    print(out, len(records), "records", hashlib.sha256(text.encode()).hexdigest()[:16], "ckpt bytes", (out / "checkpoint.pkl").stat().st_size)
