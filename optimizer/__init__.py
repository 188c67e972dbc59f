"""NSGA-II sizing runs of OTA topologies: spec, run store, problem, algorithm, evaluation back-ends, runner, results."""
