"""Sec. 4.2 / Fig. 8: box shift -- the box centre moved 10, 20 or 40 px in a random direction
shared by a view's two images, ``shift_repeats`` new directions each; the original placement is
the default configuration. p-values for 10 vs 20 px and 40 vs 20 px on test accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..protocol.paper import REPORTED, SHIFTS
from ..reporting.figures import COLOURS
from ..reporting.text import pct, pvalue, triple
from .analysis import row_of
from .planned import Planned
from .spec import Section
from .stats import compare_samples

TEST_USED = ("Welch's two-sample t-test, two-sided (scipy.stats.ttest_ind(equal_var=False)), on the test "
             "accuracies of the repeats; Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu), as a check")


def repeat_seed(shift: int, repeat: int) -> int:
    """The seed of repeat ``repeat`` (0-based) of Sec. 4.2's ``shift`` px: 100 x shift + repeat + 1
    (10 px: 1001, 1002, ...; 20 px: 2001, ...; 40 px: 4001, ...). It draws the repeat's shift
    directions and seeds its training runs (run r: seed x 1000 + r), so every (shift, repeat) is an
    independent sample, as the t-test and Mann-Whitney U assume; none equals the default seed 0."""
    return 100 * int(shift) + repeat + 1


def plan(ctx) -> list[Planned]:
    base = ctx.base()
    out = [Planned("original", base, {"shift": 0, "repeat": 0}, note="the default configuration")]
    for shift in SHIFTS:
        for r in range(ctx.settings["shift_repeats"]):
            seed = repeat_seed(shift, r)
            out.append(Planned(f"shift {shift} px #{r + 1}",
                               base.replace(roi={"shift": float(shift)}, shift_seed=seed, train={"seed": seed}),
                               {"shift": shift, "repeat": r + 1}))
    return out


def analyse(ctx, plans, rows, histories):
    comparison, notes, extra, tables = [], [], {}, {}
    groups = {shift: rows.loc[rows["shift"] == shift] for shift in (0, *SHIFTS)}
    summary = []
    for shift, g in groups.items():
        entry = {"shift": shift, "n": int(len(g))}
        for m in ("accuracy", "sensitivity", "specificity", "auc"):
            values = g[m].dropna().astype(float)
            entry[f"{m}_mean"] = float(values.mean()) if len(values) else None
            entry[f"{m}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
        summary.append(entry)
    summary = pd.DataFrame(summary)
    tables["shift_summary"] = summary
    tests = []
    for a, b in ((10, 20), (40, 20)):
        result = compare_samples(groups[a]["accuracy"], groups[b]["accuracy"])
        tests.append({"comparison": f"{a} px vs {b} px", "metric": "test accuracy", **result})
    tests = pd.DataFrame(tests)
    tables["p_values"] = tests
    extra["p_values"] = tests.to_dict(orient="records")
    extra["test_used"] = TEST_USED
    paper20 = REPORTED["box_shift"][20]
    comparison.append({"quantity": "original placement: test acc / sens / spec",
                       "paper": f"{triple(REPORTED['box_size'][256])} (box 256, Sec. 4.1)",
                       "ours": triple(row_of(rows, "original"))})
    for shift in SHIFTS:
        s = summary.set_index("shift").loc[shift]
        comparison.append({"quantity": f"{shift} px shift: test acc / sens / spec (mean of {int(s['n'])} repeats)",
                           "paper": triple(paper20) if shift == 20 else "n/a (figure only)",
                           "ours": " / ".join(pct(s[f"{m}_mean"]) for m in ("accuracy", "sensitivity", "specificity"))})
    for (_, t), key in zip(tests.iterrows(), ("p_10_vs_20", "p_40_vs_20")):
        reported = REPORTED["box_shift"][key]
        comparison.append({"quantity": f"p, test accuracy, {t['comparison']}",
                           "paper": reported if isinstance(reported, str) else f"{reported:.3f}",
                           "ours": f"Welch {pvalue(t['welch_p'])}, Mann-Whitney {pvalue(t['mannwhitney_p'])}"
                                   + (f" ({t['note']})" if t["note"] else "")})
    notes.append(f"Test: {TEST_USED}. The paper does not name its test.")
    notes.append("Each (shift, repeat) has its own seed, 100 x shift + repeat (d2tl.sections.repeat_seed): it "
                 "draws the repeat's shift directions (one per case and view, shared by the view's LE and "
                 "recombined images) and seeds its training, so the repeats are independent samples.")
    return comparison, notes, extra, tables


def draw(result, plt):
    rows = result.table
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    shifts = [0, *sorted(int(s) for s in rows["shift"].unique() if s)]
    summary = rows.groupby("shift")[["accuracy", "sensitivity", "specificity"]].mean()
    x = np.arange(len(shifts))
    for k, metric in enumerate(("accuracy", "sensitivity", "specificity")):
        pos = x + (k - 1) * 0.26
        ax.bar(pos, [summary.loc[s, metric] for s in shifts], 0.26, color=COLOURS[metric], label=f"{metric} (mean)")
        for i, s in enumerate(shifts):
            values = rows.loc[rows["shift"] == s, metric].astype(float)
            ax.scatter(np.full(len(values), pos[i]), values, s=9, color="black", zorder=3,
                       label="repeats" if (k == 0 and i == 0) else None)
    paper20 = REPORTED["box_shift"][20]
    i20 = shifts.index(20) if 20 in shifts else None
    if i20 is not None:
        for k, metric in enumerate(("accuracy", "sensitivity", "specificity")):
            p = i20 + (k - 1) * 0.26
            ax.plot([p - 0.13, p + 0.13], [paper20[metric]] * 2, color="red", lw=2,
                    label="paper, 20 px" if k == 0 else None)
    tests = result.extra.get("p_values", [])
    text = "; ".join(f"{t['comparison']}: p = {pvalue(t['welch_p'])} (Welch), {pvalue(t['mannwhitney_p'])} (MW)"
                     for t in tests)
    ax.set_xticks(x)
    ax.set_xticklabels(["original" if s == 0 else f"{s} px" for s in shifts])
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("test set")
    ax.set_xlabel("box centre shift")
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.set_title(f"test accuracy over repeats; {text}\npaper: p(10 vs 20) = 0.487, p(40 vs 20) < 0.001",
                 fontsize=8)
    return fig


SECTION = Section("box_shift", "4.2", "Fig. 8", "Box shift", "fig8_box_shift.png", plan, analyse, draw,
                  reported=REPORTED["box_shift"])
