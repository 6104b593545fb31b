"""Every section of the paper in order, in one process, and ``OUT/SUMMARY.md``.

    python experiments/run_all.py --preset quick      # about 15 min on a 2-core CPU (synthetic data)
    python experiments/run_all.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/run_all.py --preset paper      # the full protocol: a GPU, many hours
    python experiments/run_all.py --preset paper --plan plan.json     # every configuration, its cost, shard loads
    python experiments/run_all.py --preset paper --shard 3/8          # train shard 3 of 8 only (no reports)
    python experiments/run_all.py --preset paper --report-only        # reports from a finished store
    python experiments/run_shards.py --gpus 0,1,2,3 -- --preset paper # one process per GPU, then the report

Order: Sec. 4.1 box size, 4.2 box shift, 4.3 pooling, 4.4 tuning, 4.4 random initialisation
(``experiments/<section>.py``), then the conventional baseline of Sec. 4.6 (``d2tl.baseline``, on
the same split, with our D2TL result beside it) and, when ``experiments/interpretation.py`` is
there, the interpretation of Sec. 4.5 on the default model. One process, so each model graph is
compiled once and each shared configuration trained once (``OUT/runs/<hash>/``).

``OUT/SUMMARY.md``: for each section, the paper's numbers and ours side by side, the preset, the
data set and the weights source actually used; ``OUT/run_all.json``: the same with timings.
"""

from d2tl.cli import command

main = command("run-all")  # the same as python -m d2tl run-all

if __name__ == "__main__":
    raise SystemExit(main())
