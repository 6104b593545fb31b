"""Benchmark: training throughput (own path vs bare train_on_batch), model FLOP utilisation,
semi-tune through cached backbone features, data preparation vs an epoch, peak memory.

    python experiments/benchmark.py                      # 128 and 256 px, synthetic data (about 15 min on 2 CPUs)
    python experiments/benchmark.py --sizes 75 --parts throughput,semi
    KERAS_BACKEND=jax python experiments/benchmark.py --out results/benchmark-jax

Writes ``OUT/benchmark.md`` (the table in the README), ``benchmark.csv`` and ``benchmark.json``
(every number, the machine and provenance). See :mod:`d2tl.benchmark` for what is measured.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from d2tl.cli import command  # noqa: E402

main = command("benchmark")  # the same as python -m d2tl benchmark

if __name__ == "__main__":
    raise SystemExit(main())
