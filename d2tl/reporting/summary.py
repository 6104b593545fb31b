"""``SUMMARY.md``: every section's numbers beside the paper's, the reading guide (oracle, intensity
control, best baseline), the conventional baseline and the interpretation."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import pandas as pd

from ..io.atomic import write_text
from ..io.provenance import portable
from .markdown import comparison_markdown, overrides_markdown
from .text import num, pct, with_interval_auc


def load_average() -> list | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def write_summary(path, *, preset: str, settings: dict, dataset: dict, sections: list, baseline: dict | None,
                  interpretation: dict | None, wall_seconds: float, load: dict, notes: list | None = None,
                  failed=(), written=(), overrides: dict | None = None) -> str:
    """``SUMMARY.md``: every section's numbers beside the paper's, with the preset, the data set,
    the weights source used, and how long it took; first, when any step failed, which ones
    (``failed``: ``{"step", "error"}`` dicts) and what was written anyway, and the command line's
    deviations from the preset (``overrides``). Returns the text."""
    weights = sorted({w for s in sections for w in (s.get("weights_sources") or [])})
    paper_run = preset == "paper"
    lines = ["# D2TL reproduction: summary", "",
             f"Made by `python experiments/run_all.py --preset {preset}` on "
             f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')}.", ""]
    lines += failed_markdown(failed, written)
    lines += overrides_markdown(preset, overrides)
    if not paper_run:
        lines += [f"**Preset {preset}: reduced runs, epochs, repeats and input size. These numbers test the code "
                  "path; they are not the paper's numbers and must not be compared with them as results.**", ""]
    lines += ["| | |", "|---|---|",
              f"| preset | {preset}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                   for k, v in settings.items()) + " |",
              f"| data set | {dataset.get('name')}: {dataset.get('cases')} ({dataset.get('n_cases')} cases, "
              f"labels {dataset.get('labels')}, sha256 {dataset.get('cases_sha256')}) |",
              f"| weights source | {'; '.join(weights) or 'n/a'} |",
              f"| wall time | {wall_seconds / 60:.1f} min on {platform.machine()}, {os.cpu_count()} CPU(s); "
              f"load average at start {load.get('start')}, at end {load.get('end')} |", ""]
    for note in notes or []:
        lines += [f"- {note}"]
    if notes:
        lines.append("")
    lines += reading_guide_markdown(dataset, sections, baseline)
    for s in sections:
        lines.append(comparison_markdown(s, "##"))
        lines.append(f"Details: `{Path(s['folder']).as_posix()}/` ({', '.join(Path(f).name for f in s['figures'])}).")
        lines.append("")
    if baseline is not None:
        lines += baseline_markdown(baseline)
    if interpretation is not None:
        lines += interpretation_markdown(interpretation)
    text = portable("\n".join(lines).rstrip() + "\n")
    write_text(path, text)
    return text


def failed_markdown(failed, written) -> list:
    """The failed steps and what was written anyway (nothing when every step ran)."""
    if not failed:
        return []
    return [f"**{len(failed)} step(s) failed; this summary is incomplete and the command exited with status 1. "
            "Rerun the same command to resume (finished configurations are read back).**", "",
            *[f"- failed: {f['step']}: {f['error']}" for f in failed],
            *[f"- written anyway: `{w}`" for w in written], ""]


def reading_guide_markdown(dataset: dict, sections: list, baseline: dict | None) -> list:
    """What every number can be read against: the data set's oracle (the best possible), the
    intensity-only control (what brightness alone explains) and the best conventional baseline,
    all beside D2TL's default configuration on the external set."""
    lines = ["## Reading the numbers", ""]
    cases = dataset.get("cases")
    if cases:
        try:
            from ..data.oracle import oracle_summary, oracle_text

            lines.append(f"- Synthetic data set, {oracle_text(oracle_summary(Path(cases).parent))}.")
        except Exception as exc:  # not a synthetic set (or no truth recorded): no oracle to give
            lines.append(f"- No oracle figure for this data set ({type(exc).__name__}: {exc}).")
    default = next((c for s in sections if s.get("section") == "box_size"
                    for c in s.get("configurations", []) if c.get("label") == "box 256"), None)
    best = (baseline or {}).get("best_external")
    if default and default.get("ext_auc") is not None:
        text = (f"- D2TL, default configuration (dual-mode, full-tune, box 256): external-set AUC "
                f"{default['ext_auc']:.3f} ({default['ext_auc_low']:.3f}-{default['ext_auc_high']:.3f}), "
                f"test-set AUC {num(default.get('auc'))}")
        lines.append(text + ".")
    if best:
        ci = best.get("auc_interval") or (float("nan"), float("nan"))
        lines.append(f"- Best conventional baseline on the external set ({best['method']}, {best.get('masks')} masks; "
                     f"{best['selected_by']}): AUC {best['auc']:.3f} ({ci[0]:.3f}-{ci[1]:.3f}).")
        control = best.get("control")
        if control:
            cc = control.get("auc_interval") or (float("nan"), float("nan"))
            lines.append(f"- Intensity-only control (ROI brightness statistics alone) on the external set: AUC "
                         f"{control['auc']:.3f} ({cc[0]:.3f}-{cc[1]:.3f}), accuracy {pct(control.get('accuracy'))}: "
                         "what enhancement strength alone explains.")
    return lines + [""]


def baseline_markdown(baseline: dict) -> list:
    lines = ["## Sec. 4.6 Conventional baseline (Fig. 14)", ""]
    if baseline.get("error"):
        return lines + [f"Not run: {baseline['error']}", ""]
    lines += ["| method | paper (acc / sens / spec) | ours (acc / sens / spec) |", "|---|---|---|"]
    for r in baseline["rows"]:
        reported = " / ".join(pct(r.get(f"reported_{m}")) if r.get(f"reported_{m}") is not None
                              and not pd.isna(r.get(f"reported_{m}")) else "-" for m in
                              ("accuracy", "sensitivity", "specificity"))
        ours = " / ".join(with_interval_auc(r, m) if r.get(m) is not None and not pd.isna(r.get(m)) else "-"
                          for m in ("accuracy", "sensitivity", "specificity"))
        lines.append(f"| {r['method']} | {reported} | {ours} |")
    lines += ["", "- Paper: GLM-LASSO, SVM and random forest all below D2TL, specificity 60%; the cited works' "
              "numbers are on their own data.",
              f"- Baseline preset {baseline.get('preset')}; details: `{baseline.get('folder')}/`.", ""]
    paired = baseline.get("paired_tests")
    if paired:
        from ..stats import section_tests

        table = pd.DataFrame(paired)
        lines += ["Paired tests, D2TL vs each classifier on the same test cases (Holm-adjusted p in brackets):", "",
                  *section_tests.markdown(table), *[f"- {n}" for n in section_tests.notes(table)], ""]
    return lines


def interpretation_markdown(interp: dict) -> list:
    lines = ["## Sec. 4.5 Interpretation (Figs. 11-13)", ""]
    if interp.get("error"):
        return lines + [f"Not run: {interp['error']}", ""]
    lines += ["| quantity | paper | ours |", "|---|---|---|",
              "| class representations (eq. 1) | Fig. 11, one image set per class | "
              f"`{interp.get('out')}/class_representations.png` |",
              "| pixel influence (eq. 2), one benign and one malignant case | Figs. 12, 13 | "
              f"patients {interp.get('patients')} |"]
    shares = interp.get("shares") or {}
    if shares.get("n_cases"):
        keys = [k for k in shares if k.endswith("_share_mean")]
        text = ", ".join(f"{k.removesuffix('_share_mean')} {shares[k]:.3f}" for k in keys if shares[k] is not None)
        lines.append(f"| share of each map inside the lesion ({shares['n_cases']} cases; lesion area "
                     f"{shares.get('area_share_mean', float('nan')):.3f}) | not reported (qualitative) | {text} |")
    lines += ["", f"- Details: `{interp.get('out')}/`.", ""]
    return lines
