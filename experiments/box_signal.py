"""Beyond the paper: where a synthetic set's class signal is lost between the generator's truth
and the model's box (:mod:`d2tl.studies.box_signal`): the drawn enhancement, the lesion's mean
and contrast (breast-wide and local) in the stored recombined image, after D2TL's normalisation,
the model-ready ROI, and an oracle computed from the image, each read as a score for
malignancy, for all cases and split by whether the lesion fits the box.

    python experiments/box_signal.py                                   # the external set (seed 1)
    python experiments/box_signal.py --cases data/synthetic/cases.csv --out results/box_signal/synthetic

Writes ``OUT/stages.csv`` (one row per case), ``OUT/aucs.csv``, ``OUT/box_signal.md`` and
``OUT/provenance.json``. No training; about half a minute per 200 cases.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from d2tl.io.errors import D2TLError
from d2tl.protocol.paper import MIN_INPUT


def markdown(aucs, fit, prov: dict) -> str:
    lines = ["# Where the class signal is lost between the generator and the box (beyond the paper)", "",
             f"Data {prov['dataset']['name']} ({prov['dataset']['n_cases']} cases, case table sha256 "
             f"{prov['dataset']['cases_sha256']}); box 256 px cut and resized to {prov['config']['input_side']} px"
             + (" as the quick preset does." if prov['config']['input_side'] == MIN_INPUT else
                f" (the quick preset uses {MIN_INPUT} px; the input_ stages read this side)."), "",
             f"Command: `{prov['command']}`", "",
             "| cases | n | stage | AUC for malignancy (95% CI) |", "|---|---|---|---|"]
    for r in aucs.itertuples():
        lines.append(f"| {r.cases} | {r.n} | {r.stage} | {r.auc:.3f} ({r.auc_low:.3f}-{r.auc_high:.3f}) |")
    lines += ["", "What sets a lesion's contrast in the stored recombined image (ordinary least squares, "
              "statsmodels: contrast ~ log concentration + log size; effects per SD of each):", "",
              "| contrast | concentration | size | residual SD | R^2 |", "|---|---|---|---|---|"]
    for name, f in fit.items():
        lines.append(f"| {name} | {f['conc_per_sd']:.4f} | {f['size_per_sd']:.4f} | {f['residual_sd']:.4f} | "
                     f"{f['r2']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def run(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="data/synthetic-external/cases.csv", help="a synthetic set's case table")
    p.add_argument("--out", default="results/box_signal", help="output folder")
    p.add_argument("--input-side", type=int, default=MIN_INPUT, metavar="PX",
                   help=f"the model input's side the input_ stages read (default {MIN_INPUT}, the quick preset's)")
    a = p.parse_args(argv)
    try:
        if not 16 <= a.input_side <= 256:
            raise D2TLError(f"--input-side {a.input_side}: give a side from 16 to the box's 256 px")
        if not (Path(a.cases).is_file() and (Path(a.cases).parent / "dataset.json").is_file()):
            raise D2TLError(f"--cases {a.cases}: not a synthetic set's case table (its dataset.json holds the truth)")
        return _run(a)
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(a) -> int:
    from d2tl.io.atomic import write_csv, write_text
    from d2tl.data.cases import load_cases
    from d2tl.io.provenance import dataset_info, provenance, write_json
    from d2tl.data.roi import RoiConfig
    from d2tl.studies.box_signal import case_stages, contrast_fit, load_truth, stage_aucs

    table = load_cases(a.cases)
    cases = case_stages(table, load_truth(a.cases), RoiConfig(box=256, input_scale=a.input_side / 256))
    aucs = stage_aucs(cases)
    fit = {"against the breast's median": contrast_fit(cases, "raw_lesion_contrast"),
           "against a ring around the lesion (local)": contrast_fit(cases, "local_contrast")}
    out = Path(a.out)
    side = [] if a.input_side == MIN_INPUT else ["--input-side", str(a.input_side)]
    prov = provenance(config={"box": 256, "input_side": a.input_side}, seed=None, preset="quick",
                      dataset=dataset_info(a.cases, table), weights_source="none (no model)", contrast_fit=fit,
                      command=shlex.join(["python", "experiments/box_signal.py", "--cases", a.cases, "--out", a.out, *side]))
    write_csv(out / "stages.csv", cases)
    write_csv(out / "aucs.csv", aucs)
    write_json(out / "provenance.json", prov)
    write_text(out / "box_signal.md", markdown(aucs, fit, prov))
    print(markdown(aucs, fit, prov))
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
