"""The performance table against the official algorithms, with the roofline: `make bench` prints it.

    python benchmarks/perf.py [--quick] [TOPIC ...]

Topics (one module each, ``benchmarks/perf_<topic>.py``): single_neuron, two_layer, icl_model,
icl_evaluators. One thread for everything (set before numpy, torch or jax load). Rows whose
reference needs JAX are skipped, saying so, when JAX is not installed
(``pip install -r benchmarks/requirements.txt``; `make bench` does it).
``--quick`` runs each row's smallest variant (for the tests of the harness).

See ``benchmarks/_perf.py`` for the columns: ours and the reference timed alternately in the same
run, the ratio against the issue's target, the roofline floor from this run's own measured
matmul and elementwise throughputs, the fraction of it reached, the agreement of the outputs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _perf import machine_rates, one_thread, rates_table, table  # noqa: E402

TOPICS = ["single_neuron", "two_layer", "icl_model", "icl_evaluators", "sweep_runner"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topics", nargs="*", choices=[[]] + TOPICS, default=[],
                        help="topics to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smallest variant of each row")
    args = parser.parse_args(argv)
    topics = args.topics or TOPICS
    one_thread()
    t0 = time.perf_counter()
    rates = machine_rates()
    print("## This machine, one core (measured in this run)\n")
    print(rates_table(rates), flush=True)
    rows, failed = [], False
    for topic in topics:
        try:
            module = importlib.import_module(f"perf_{topic}")
            new = module.rows(rates, quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed = True
            continue
        rows += new
        print(f"\n[{topic}: {len(new)} rows, {time.perf_counter() - t0:.0f} s so far]", flush=True)
    print("\n## Ours against the official algorithms (one thread each, alternating)\n")
    print(table(rows, rates))
    # a second measurement of the rates: the table's floors are trustworthy if the two agree
    again = machine_rates()
    drift = max(abs(again.matmul[d] / rates.matmul[d] - 1) for d in rates.matmul)
    print(f"\nmatmul throughput re-measured after the rows: {100 * drift:.0f} % drift "
          f"(the roofline floors use the first measurement). Total {time.perf_counter() - t0:.0f} s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
