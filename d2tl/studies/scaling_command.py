"""``python -m d2tl data-scaling``: the default configuration against the number of training
patients (:mod:`d2tl.studies.scaling`), under the quick preset's training settings."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from ..io.errors import D2TLError

EPILOG = """The larger synthetic set (480 cases, another generator seed) is made once with
  python -m d2tl synth --seed 3 --n 480 --out data/synthetic-480
Its split (seed 0, the paper's proportions) gives 300 training, 80 validation and 100 test patients.
--cases means what it means in every command (docs/options.md), so name the set:
  python -m d2tl data-scaling --cases data/synthetic-480/cases.csv
python experiments/data_scaling.py does (and takes every option here)."""


def add_arguments(p) -> None:
    from ..protocol.options import add_cases, add_out

    add_cases(p)  # the study's set is the larger one (EPILOG, experiments/data_scaling.py)
    p.add_argument("--external", default="data/synthetic-external/cases.csv",
                   help="independent case table every selected model is also scored on")
    p.add_argument("--patients", type=int, nargs="+", default=[60, 150, 300],
                   help="training-set sizes (nested, label-stratified subsets of the training part)")
    p.add_argument("--samples", type=int, default=300,
                   help="augmented samples per epoch in every arm (alternatives = samples / patients)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per arm (default: the quick preset's)")
    p.add_argument("--arm-epochs", type=int, nargs="+", default=None,
                   help="one fixed number of epochs per --patients size, in the same order (the positive "
                        "control: more patients, fewer epochs); replaces --epochs")
    p.add_argument("--weights", default="random", help="random, imagenet, fractal or a weights file")
    add_out(p, "data-scaling")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild the table and figure from OUT's data_scaling.csv and provenance.json; train nothing")


def _check(a) -> None:
    for option, path in (("--cases", a.cases), ("--external", a.external)):
        if not Path(path).is_file():
            raise D2TLError(f"{option} {path} does not exist" + (
                "; make it with: python -m d2tl synth --seed 3 --n 480 --out data/synthetic-480 (the study's "
                "default set; the positive control's: python -m d2tl synth --seed 4 --n 3072 --out data/synthetic-3072)"
                if option == "--cases" else "; make it with: python -m d2tl synth --seed 1 --n 200 "
                                            "--out data/synthetic-external"))
    if a.samples < 1:
        raise D2TLError(f"--samples must be at least 1, got {a.samples}")
    if a.epochs is not None and a.epochs < 1:
        raise D2TLError(f"--epochs must be at least 1, got {a.epochs}")
    if a.arm_epochs is not None:
        if a.epochs is not None:
            raise D2TLError("--arm-epochs and --epochs: give one of them")
        if len(a.arm_epochs) != len(a.patients) or min(a.arm_epochs) < 1:
            raise D2TLError(f"--arm-epochs {' '.join(map(str, a.arm_epochs))}: one number >= 1 per --patients size "
                            f"({' '.join(map(str, a.patients))})")
    if len(set(a.patients)) != len(a.patients):
        raise D2TLError(f"--patients {' '.join(map(str, a.patients))}: each size once")


def run(a) -> int:
    if a.report_only:
        return _report_only(Path(a.out))
    _check(a)
    from ..training.config import preset_base
    from ..training.run_folder import resolve_weights
    from ..protocol.presets import preset
    from .scaling import run_arms
    from ..training.arguments import log_to_stdout

    base = preset_base({**preset("quick"), "weights": a.weights}, "quick")
    if a.epochs is not None:
        base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=a.epochs))
    weights = resolve_weights(base.model.weights)
    out = Path(a.out)
    arm_epochs = dict(zip(a.patients, a.arm_epochs)) if a.arm_epochs else None
    prov = _provenance(a, base, weights, arm_epochs)
    run_arms(base, weights, a.cases, a.external, a.patients, a.samples, out, out / "cache", log=log_to_stdout,
             arm_epochs=arm_epochs, on_arm=lambda rows: _write(rows, prov, out))
    return 0


def _provenance(a, base, weights, arm_epochs) -> dict:
    from ..data.cases import load_cases
    from ..io.provenance import dataset_info, provenance
    from .scaling import VALIDATION_ALTERNATIVES

    command = ["python", "-m", "d2tl", "data-scaling", "--cases", str(a.cases), "--external", str(a.external),
               "--patients", *map(str, a.patients), "--samples", str(a.samples)]
    command += ["--arm-epochs", *map(str, a.arm_epochs)] if a.arm_epochs else ["--epochs", str(base.train.epochs)]
    command += ["--weights", str(a.weights), "--out", str(a.out)]
    return provenance(config=base.to_dict(), seed=base.train.seed, preset="quick",
                      dataset=dataset_info(a.cases, load_cases(a.cases)), weights_source=weights.description,
                      weights_identity=weights.identity, external=dataset_info(a.external, load_cases(a.external)),
                      study={"patients": sorted(a.patients), "samples_per_epoch": a.samples,
                             "arm_epochs": {str(k): v for k, v in sorted(arm_epochs.items())} if arm_epochs else None,
                             "validation_alternatives": VALIDATION_ALTERNATIVES, "split_seed": base.split_seed},
                      command=shlex.join(command))


def _write(rows, prov: dict, out: Path) -> None:
    """The table, histories, provenance and report of the arms finished so far (a partial study
    says which arms it still lacks)."""
    import json

    import pandas as pd

    from ..io.atomic import write_csv
    from ..io.provenance import write_json
    from .records import record_path
    from .scaling import arm_name

    done = sorted(rows["patients"])
    prov = {**prov, "arms_finished": done,
            "arms_missing": [k for k in prov["study"]["patients"] if k not in done]}
    histories = [pd.DataFrame(json.loads(record_path(out, arm_name(k)).read_text())["history"]).assign(patients=k)
                 for k in done]
    write_csv(out / "history.csv", pd.concat(histories))
    write_csv(out / "data_scaling.csv", rows)
    write_json(out / "provenance.json", prov)
    _report(rows, prov, out)


def _report(rows, prov: dict, out: Path) -> None:
    from ..io.atomic import write_text
    from .scaling import figure, markdown

    study = prov["study"]
    schedule = ("epochs fixed per arm" if study.get("arm_epochs") else
                f"{prov['config']['train']['epochs']} epochs x {study['samples_per_epoch']} samples")
    figure(rows, out / "data_scaling.png", f"dual-mode full-tune, {prov['weights_identity'].split()[0]} weights, "
                                           f"{schedule}")
    text = markdown(rows, prov)
    if prov.get("arms_missing"):
        text += (f"\n**Partial:** arms still to train: {', '.join(map(str, prov['arms_missing']))} training "
                 "patients (the same command resumes; finished arms are reused).\n")
    write_text(out / "data_scaling.md", text)
    print(f"wrote {out / 'data_scaling.md'}")


def _report_only(out: Path) -> int:
    import json

    import pandas as pd

    table, prov_file = out / "data_scaling.csv", out / "provenance.json"
    for path in (table, prov_file):
        if not path.is_file():
            raise D2TLError(f"--report-only: {path} does not exist; run the study first")
    _report(pd.read_csv(table), json.loads(prov_file.read_text()), out)
    return 0
