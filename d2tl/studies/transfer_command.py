"""``python -m d2tl transfer``: the default configuration from each weights source, compared on
the external set (:mod:`d2tl.studies.transfer`); writes ``OUT/transfer.md``, ``transfer.csv``,
``paired_tests.csv``, ``external_runs.csv``, ``transfer.png`` and ``provenance.json``."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..io.errors import D2TLError
from .transfer import ARMS

EPILOG = """Make the weights first (each is reused once made):
  python -m d2tl pretrain --source synthetic     # synthetic CEDM source domain (docs/pretrain.md)
  python -m d2tl pretrain                        # formula-driven (FractalDB-style)
The external set: python -m d2tl synth --seed 1 --n 200 --out data/synthetic-external"""


def add_arguments(p) -> None:
    from ..protocol.options import add_cases, add_out

    add_cases(p)
    p.add_argument("--external", default="data/synthetic-external/cases.csv",
                   help="independent case table every run's model is scored on")
    p.add_argument("--arms", nargs="+", default=list(ARMS),
                   help="weights sources to compare (synthetic, fractal, random, imagenet or a weights file)")
    p.add_argument("--runs", type=int, default=3, help="runs per arm (the best by validation is the arm's model)")
    p.add_argument("--epochs", type=int, help="epochs per run (default: the quick preset's)")
    add_out(p, "transfer")


def _check(a) -> None:
    from ..io import checks

    checks.output_folder("--out", a.out, "transfer study's results")
    for option, path in (("--cases", a.cases), ("--external", a.external)):
        if not Path(path).is_file():
            raise D2TLError(f"{option} {path} does not exist")
    if a.runs < 1:
        raise D2TLError(f"--runs {a.runs}: must be at least 1")
    if a.epochs is not None and a.epochs < 1:
        raise D2TLError(f"--epochs {a.epochs}: must be at least 1")
    if len(set(a.arms)) != len(a.arms) or len(a.arms) < 2:
        raise D2TLError(f"--arms {' '.join(a.arms)}: at least two arms, each once")


def command_line(a) -> str:
    parts = ["python", "-m", "d2tl", "transfer", "--cases", str(a.cases), "--external", str(a.external),
             "--arms", *a.arms, "--runs", str(a.runs), "--out", str(a.out)]
    return shlex.join(parts + (["--epochs", str(a.epochs)] if a.epochs else []))


def run(a) -> int:
    _check(a)
    from ..training.arguments import log_to_stdout
    from .transfer import run_arms

    out = Path(a.out)
    run_arms(a.arms, a.runs, a.cases, a.external, out, a.epochs, log=log_to_stdout,
             on_arm=lambda rows, paired, external: write_report(a, rows, paired, external))
    print(f"wrote {out / 'transfer.md'}")
    return 0


def write_report(a, rows, paired, external) -> None:
    """Table, paired tests, per-run predictions, figure and provenance of the arms finished so
    far (a partial study names the arms it still lacks)."""
    from ..io.atomic import write_csv, write_text
    from ..data.cases import load_cases
    from ..io.provenance import dataset_info, provenance, write_json
    from .transfer import arm_config
    from .transfer_report import figure, markdown

    out = Path(a.out)
    base = arm_config("random", a.runs, a.epochs)
    missing = [arm for arm in a.arms if arm not in set(rows["arm"])]
    prov = provenance(config=base.to_dict(), seed=base.train.seed, preset="quick",
                      dataset=dataset_info(a.cases, load_cases(a.cases)),
                      weights_source="; ".join(f"{r.arm}: {r.weights_source}" for r in rows.itertuples()),
                      external=dataset_info(a.external, load_cases(a.external)),
                      study={"arms": list(a.arms), "runs": a.runs, "epochs": base.train.epochs},
                      arms_missing=missing, command=command_line(a))
    write_csv(out / "transfer.csv", rows)
    write_csv(out / "paired_tests.csv", paired)
    write_csv(out / "external_runs.csv", external)
    write_json(out / "provenance.json", prov)
    text = markdown(rows, paired, prov)
    if missing:
        text += (f"\n**Partial:** arms still to run: {', '.join(missing)} (the same command resumes; finished "
                 "arms are reused from OUT/arms/).\n")
    write_text(out / "transfer.md", text)
    figure(rows, external, out / "transfer.png")
