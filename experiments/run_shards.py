"""One host, many GPUs: N shards as N processes, one GPU each, then the reports.

    python experiments/run_shards.py --gpus 0,1,2,3 -- --preset paper
    python experiments/run_shards.py --processes 3 -- --preset quick      # CPU: 3 processes

Each process is ``run_all.py <args> --shard I/N`` with ``CUDA_VISIBLE_DEVICES`` set to its GPU
(``--gpus``) or unchanged (``--processes``), writing its log to ``OUT/shards/shard-I.log``; when
all have finished, ``run_all.py <args> --report-only`` builds the section reports and
SUMMARY.md from the shared store. For many independent trainings this is simpler and faster
than one process over all GPUs (``--strategy mirrored``, kept for one large configuration).
A failed shard stops the launcher with its log's name and exit status; rerunning the same
command resumes: finished configurations are read back, not trained again.
"""

from d2tl.cli import command

main = command("run-shards")  # the same as python -m d2tl run-shards

if __name__ == "__main__":
    raise SystemExit(main())
