"""``python -m d2tl run-shards`` (``experiments/run_shards.py``). One host, many GPUs: N shards as N processes, one GPU each, then the reports.

    python experiments/run_shards.py --gpus 0,1,2,3 -- --preset paper
    python experiments/run_shards.py --processes 3 -- --preset quick      # CPU: 3 processes

Each process is ``python -m d2tl run-all <args> --shard I/N`` with ``CUDA_VISIBLE_DEVICES`` set to its GPU
(``--gpus``) or unchanged (``--processes``), writing its log to ``OUT/shards/shard-I.log``; when
all have finished, ``run-all <args> --report-only`` builds the section reports and
SUMMARY.md from the shared store. For many independent trainings this is simpler and faster
than one process over all GPUs (``--strategy mirrored``, kept for one large configuration).
Every shard runs to its end; if any failed, the launcher builds no reports and exits with status
1, naming each failed shard's log and exit status (a shard's own log names its failed
configurations). Rerunning the same command resumes: finished configurations are read back,
not trained again.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..protocol.defaults import DEFAULT_OUT
from ..io.errors import D2TLError
from ..io.failures import StepsFailed

RUN_ALL = [sys.executable, "-m", "d2tl", "run-all"]
EPILOG = __doc__


def _out(args_after: list[str]) -> Path:
    """The --out value among run_all's arguments (run_all's default otherwise)."""
    for i, a in enumerate(args_after):
        if a == "--out" and i + 1 < len(args_after):
            return Path(args_after[i + 1])
        if a.startswith("--out="):
            return Path(a.split("=", 1)[1])
    return Path(DEFAULT_OUT)


def add_arguments(parser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--gpus", help="comma-separated GPU ids, one shard each (sets CUDA_VISIBLE_DEVICES)")
    which.add_argument("--processes", type=int, help="N shards as N processes without GPU pinning")
    parser.add_argument("run_all_args", nargs=argparse.REMAINDER, metavar="-- RUN_ALL_ARGS",
                        help="run-all's arguments, after --")


def run(args) -> int:
    rest = list(args.run_all_args)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if any(a in ("--shard", "--report-only", "--dry-run") or a.startswith("--shard=") for a in rest):
        raise D2TLError("run-all's arguments after -- must not hold --shard, --report-only or --dry-run: "
                        "the launcher adds them")
    gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
    n = len(gpus) if gpus else args.processes
    if not n or n < 1:
        raise D2TLError(f"--gpus/--processes: need at least one shard, got {args.gpus or args.processes!r}")
    logs = _out(rest) / "shards"
    logs.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(n):
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i]
        log = open(logs / f"shard-{i}.log", "w")
        procs.append((i, log, subprocess.Popen([*RUN_ALL, *rest, "--shard", f"{i}/{n}"],
                                               env=env, stdout=log, stderr=subprocess.STDOUT)))
        print(f"shard {i}/{n} started (pid {procs[-1][2].pid}{', GPU ' + gpus[i] if gpus else ''}) -> "
              f"{logs / f'shard-{i}.log'}", flush=True)
    failed = []
    for i, log, proc in procs:
        code = proc.wait()
        log.close()
        print(f"shard {i}/{n} finished with exit status {code}", flush=True)
        if code:
            failed.append((f"shard {i}/{n}", f"exit status {code}; see {logs / f'shard-{i}.log'}"))
    if failed:  # no reports: --report-only would refuse the unfinished store
        done = [f"shard {i}/{n}" for i in range(n) if f"shard {i}/{n}" not in dict(failed)]
        raise StepsFailed(failed, [f"every configuration finished by {', '.join(done) or 'no shard'} (and those the "
                                   f"failed shards finished) in {_out(rest) / 'runs'}; no reports"])
    code = subprocess.call([*RUN_ALL, *rest, "--report-only"])
    if code:
        raise StepsFailed([("the reports (run-all --report-only)", f"exit status {code}")],
                          [f"every shard's configurations, in {_out(rest) / 'runs'}"])
    return 0
