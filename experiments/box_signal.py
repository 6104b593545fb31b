"""Beyond the paper: where a synthetic set's class signal is lost between the generator's truth
and the model's box (:mod:`d2tl.studies.box_signal`): the drawn enhancement, the lesion's mean
and contrast in the stored recombined image, after D2TL's normalisation, and the model-ready ROI,
each read as a score for malignancy, for all cases and split by whether the lesion fits the box.

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

from d2tl.errors import D2TLError


def markdown(aucs, fit, prov: dict) -> str:
    lines = ["# Where the class signal is lost between the generator and the box (beyond the paper)", "",
             f"Data {prov['dataset']['name']} ({prov['dataset']['n_cases']} cases, case table sha256 "
             f"{prov['dataset']['cases_sha256']}); box 256 px cut and resized to 75 px as the quick preset does.", "",
             f"Command: `{prov['command']}`", "",
             "| cases | n | stage | AUC for malignancy (95% CI) |", "|---|---|---|---|"]
    for r in aucs.itertuples():
        lines.append(f"| {r.cases} | {r.n} | {r.stage} | {r.auc:.3f} ({r.auc_low:.3f}-{r.auc_high:.3f}) |")
    lines += ["", "What sets the lesion's contrast in the stored recombined image (ordinary least squares, "
              "statsmodels: contrast ~ log concentration + log size):", "",
              f"- concentration: {fit['conc_per_sd']:.4f} per SD; size: {fit['size_per_sd']:.4f} per SD; "
              f"residual SD {fit['residual_sd']:.4f}; R^2 {fit['r2']:.3f}", ""]
    return "\n".join(lines)


def run(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="data/synthetic-external/cases.csv", help="a synthetic set's case table")
    p.add_argument("--out", default="results/box_signal", help="output folder")
    a = p.parse_args(argv)
    try:
        if not (Path(a.cases).is_file() and (Path(a.cases).parent / "dataset.json").is_file()):
            raise D2TLError(f"--cases {a.cases}: not a synthetic set's case table (its dataset.json holds the truth)")
        return _run(a)
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(a) -> int:
    import numpy as np
    import statsmodels.formula.api as smf

    from d2tl.atomic import write_csv, write_text
    from d2tl.data.cases import load_cases
    from d2tl.provenance import dataset_info, provenance, write_json
    from d2tl.studies.box_signal import case_stages, load_truth, stage_aucs

    table = load_cases(a.cases)
    cases = case_stages(table, load_truth(a.cases))
    aucs = stage_aucs(cases)
    cases["log_conc"], cases["log_size"] = np.log(cases["truth_enhancement"]), np.log(cases["size_full_px"])
    m = smf.ols("raw_lesion_contrast ~ log_conc + log_size", cases).fit()
    fit = {"conc_per_sd": float(m.params["log_conc"] * cases["log_conc"].std()),
           "size_per_sd": float(m.params["log_size"] * cases["log_size"].std()),
           "residual_sd": float(np.sqrt(m.scale)), "r2": float(m.rsquared)}
    out = Path(a.out)
    prov = provenance(config={"box": 256, "input_side": 75}, seed=None, preset="quick",
                      dataset=dataset_info(a.cases, table), weights_source="none (no model)", contrast_fit=fit,
                      command=shlex.join(["python", "experiments/box_signal.py", "--cases", a.cases, "--out", a.out]))
    write_csv(out / "stages.csv", cases)
    write_csv(out / "aucs.csv", aucs)
    write_json(out / "provenance.json", prov)
    write_text(out / "box_signal.md", markdown(aucs, fit, prov))
    print(markdown(aucs, fit, prov))
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
