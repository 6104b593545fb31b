"""Section statistics, plans and reports without training (fast)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from d2tl import sections
from d2tl.io.errors import D2TLError
from d2tl.protocol.paper import BOX_SIZES
from d2tl.protocol.presets import PRESETS
from d2tl.reporting.markdown import comparison_markdown
from d2tl.reporting.summary import write_summary
from d2tl.reporting.text import pvalue
from d2tl.sections import estimate, run as section_run, stats as section_stats

# Welch's t-test, "example 1" of the Wikipedia article: t = -2.46, df = 24.9, p = 0.021.
WELCH_A = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
WELCH_B = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_p_values_match_scipy_and_a_published_example():
    r = section_stats.compare_samples(WELCH_A, WELCH_B)
    expected = stats.ttest_ind(WELCH_A, WELCH_B, equal_var=False)
    assert r["welch_t"] == pytest.approx(expected.statistic)
    assert r["welch_p"] == pytest.approx(expected.pvalue)
    assert r["welch_t"] == pytest.approx(-2.46, abs=0.005) and r["welch_p"] == pytest.approx(0.021, abs=0.0005)
    mw = stats.mannwhitneyu(WELCH_A, WELCH_B, alternative="two-sided")
    assert r["mannwhitney_u"] == pytest.approx(mw.statistic) and r["mannwhitney_p"] == pytest.approx(mw.pvalue)
    assert (r["n_a"], r["n_b"]) == (15, 15) and r["note"] == ""


def test_p_values_on_test_accuracies_of_repeats():
    ten, twenty = [0.8, 0.75, 0.85, 0.8], [0.6, 0.65, 0.55, 0.7]
    r = section_stats.compare_samples(ten, twenty)
    assert r["welch_p"] == pytest.approx(stats.ttest_ind(ten, twenty, equal_var=False).pvalue)
    assert r["mean_a"] == pytest.approx(0.8) and r["mean_b"] == pytest.approx(0.625)


def test_p_values_undefined_cases_are_none_with_a_reason():
    one = section_stats.compare_samples([0.8], [0.7, 0.6])
    assert one["welch_p"] is None and "at least 2" in one["note"]
    constant = section_stats.compare_samples([0.5, 0.5], [0.5, 0.5])
    assert constant["welch_p"] is None and "constant" in constant["note"]
    assert pvalue(None) == "n/a" and pvalue(0.0004) == "< 0.001" and pvalue(0.487) == "0.487"


def _history():
    return pd.DataFrame({"run": [0] * 5 + [1] * 5, "epoch": list(range(1, 6)) * 2,
                         "accuracy": [0.5, 0.7, 0.91, 0.95, 0.99, 0.5, 0.6, 0.8, 0.85, 0.9],
                         "val_accuracy": [0.5, 0.5, 0.6, 0.7, 0.8] * 2,
                         "seconds": [100.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]})


def test_learning_curve_statistics():
    h = _history()
    assert section_stats.first_epoch_reaching(h[h.run == 0]) == 3
    assert section_stats.first_epoch_reaching(h[h.run == 1]) == 5
    assert section_stats.first_epoch_reaching(h[h.run == 1], 0.95) is None
    assert section_stats.last_epochs_mean(h[h.run == 0], "accuracy", n=2) == pytest.approx(0.97)
    assert section_stats.last_epochs_mean(h[h.run == 0], "val_accuracy") == pytest.approx(0.62)  # fewer than 10 epochs
    # the first epoch (graph compilation) is left out of the steady-state epoch time
    assert section_stats.steady_epoch_seconds(h) == pytest.approx(2.0)


def test_presets():
    paper, quick = PRESETS["paper"], PRESETS["quick"]
    assert (paper["runs"], paper["epochs"], paper["shift_repeats"], paper["random_init_epochs"]) == (10, 100, 10, 200)
    assert paper["input_scale"] == 1.0 and paper["alternatives"] == 5
    from d2tl.data.roi import RoiConfig

    # every box of the quick preset gives the same (smallest) input, so one graph serves them all
    assert {RoiConfig(box=b, input_scale=quick["input_scale"]).input_size for b in BOX_SIZES} == {75}
    assert quick["random_init_epochs"] == quick["epochs"]  # the ImageNet arm is the default configuration
    assert quick["bn_stats"] == "precise" and paper["bn_stats"] == "moving"
    smoke = PRESETS["smoke"]
    assert (smoke["runs"], smoke["epochs"], smoke["alternatives"]) == (1, 2, 1)


@pytest.fixture
def ctx(tiny_cases, tmp_path):
    c = sections.Context(tiny_cases, "quick", tmp_path / "out", log=lambda line: None)
    c._auto_source = "random (auto: ImageNet weights unavailable)"  # as offline; no download attempt
    return c


def test_shared_configuration_has_one_result_folder(ctx):
    default = ctx.directory(ctx.base())
    users = []
    for name in sections.ORDER:
        for p in sections.plan(name, ctx):
            if ctx.directory(p.trained_config) == default:
                users.append(name)
    assert set(users) == set(sections.ORDER)  # every section shows the default configuration
    dirs = [ctx.directory(p.trained_config) for name in sections.ORDER for p in sections.plan(name, ctx)]
    quick = PRESETS["quick"]
    # boxes, shifts, simple pooling, semi-tune under both frozen-BN readings
    assert len(set(dirs)) == 4 + 3 * quick["shift_repeats"] + 3


def test_random_init_plan_with_and_without_imagenet(ctx, monkeypatch):
    from d2tl.model.weights import Weights

    from d2tl.sections.init_arms import absent

    monkeypatch.setitem(ctx._weights, "auto", Weights("imagenet", "/somewhere/weights.h5", "md5:0123"))
    arms = sections.plan("random_init", ctx)
    assert [a.config.model.weights for a in arms] == ["auto", "random"]  # no formula-pre-trained file here
    assert all(a.substitute is None for a in arms)
    assert [line.split(":")[0] for line in absent(ctx)] == ["formula-pre-trained arm"]
    monkeypatch.setitem(ctx._weights, "auto", Weights("random", note="auto: ImageNet weights unavailable"))
    arms = sections.plan("random_init", ctx)
    assert [a.columns["initialisation"] for a in arms] == ["random"]  # offline: the ImageNet arm is absent
    lines = absent(ctx)
    assert lines[0].startswith("ImageNet arm: absent") and "python -m d2tl pretrain" in lines[1]
    assert "void" in lines[2]


def test_shift_plan_draws_new_directions_per_repeat(ctx):
    shifts = sections.plan("box_shift", ctx)
    assert shifts[0].config == ctx.base()
    twenty = [p.config for p in shifts if p.columns["shift"] == 20]
    assert len(twenty) == PRESETS["quick"]["shift_repeats"]
    assert len({c.shift_seed for c in twenty}) == len(twenty) and all(c.roi.shift == 20 for c in twenty)


def test_report_folder_is_not_overwritten_by_another_configuration(ctx, tmp_path):
    plans = sections.plan("pooling", ctx)
    folder = section_run.section_folder(ctx, "pooling")
    folder.mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps({"report_fingerprint": "something-else"}))
    with pytest.raises(D2TLError, match="refusing to overwrite"):
        section_run.check_folder(ctx, "pooling", plans)
    ctx.replace = True
    assert section_run.check_folder(ctx, "pooling", plans) == section_run.fingerprint(ctx, "pooling", plans)


def test_estimate_grows_with_work(ctx):
    counts = {"train": 60, "val": 16, "test": 20}
    base = ctx.base()
    forward = {75: 0.01, 128: 0.03, "build": 2.0}
    one, _ = estimate.estimate_seconds([base], counts, forward)
    more, parts = estimate.estimate_seconds([base, base.replace(roi={"box": 64})], counts, forward)
    assert more > one > 0 and len(parts["graphs"]) == 1  # the second configuration shares the graph
    longer, _ = estimate.estimate_seconds([base.replace(train={"epochs": base.train.epochs + 10})], counts, forward)
    assert longer > one
    # a training step is 3 forward passes: ten more epochs add 10 x (3 train + 1 val) forward passes
    ten = estimate.estimate_seconds([base.replace(train={"epochs": base.train.epochs + 10})], counts, forward)[0]
    per_epoch = (counts["train"] * 3 + counts["val"]) * base.augment.copies * 4 * forward[base.model.input_size]
    assert ten - one == pytest.approx(10 * base.train.runs * per_epoch)
    # semi-tune through cached features: one forward pass per image and run, whatever the epochs
    semi = base.replace(model={"tuning": "semi"})
    assert estimate.estimate_seconds([semi], counts, forward)[0] == pytest.approx(
        estimate.estimate_seconds([semi.replace(train={"epochs": 99})], counts, forward)[0])


def _fake_section(weights="random (auto: ImageNet weights unavailable)"):
    return {"section": "pooling", "paper_section": "4.3", "figure": "Fig. 9", "title": "Dual-mode vs simple pooling",
            "comparison": [{"quantity": "training time, dual-mode / simple pooling", "paper": "about 2x",
                            "ours": "1.05x"}],
            "notes": ["a note"], "folder": "results/pooling", "figures": ["results/pooling/fig9_pooling.png"],
            "weights_sources": [weights], "preset": "quick"}


def test_summary_names_preset_data_and_weights_source(tmp_path):
    dataset = {"name": "synthetic", "cases": "data/synthetic/cases.csv", "n_cases": 96,
               "labels": {"benign": 48, "malignant": 48}, "cases_sha256": "abc"}
    text = write_summary(tmp_path / "SUMMARY.md", preset="quick", settings=PRESETS["quick"], dataset=dataset,
                         sections=[_fake_section()], baseline={"error": "no masks"}, interpretation=None,
                         wall_seconds=600.0, load={"start": [1.0], "end": [2.0]})
    assert (tmp_path / "SUMMARY.md").read_text() == text
    assert "| preset | quick:" in text and "not the paper's numbers" in text
    assert "| weights source | random (auto: ImageNet weights unavailable) |" in text
    assert "synthetic" in text and "96 cases" in text and "10.0 min" in text
    assert "| training time, dual-mode / simple pooling | about 2x | 1.05x |" in text
    assert "Sec. 4.6" in text and "Not run: no masks" in text
    assert comparison_markdown(_fake_section()).startswith("## Sec. 4.3 Dual-mode vs simple pooling (Fig. 9)")
    paper = write_summary(tmp_path / "S2.md", preset="paper", settings=PRESETS["paper"], dataset=dataset,
                          sections=[_fake_section("imagenet (/k/w.h5)")], baseline=None, interpretation=None,
                          wall_seconds=1.0, load={})
    assert "not the paper's numbers" not in paper and "imagenet (/k/w.h5)" in paper


def test_registry_lists_every_section_once_with_its_script_and_figure():
    from pathlib import Path

    from d2tl.sections import registry

    names = [s.name for s in registry.SECTIONS]
    assert names == list(sections.ORDER) == ["box_size", "box_shift", "pooling", "tuning", "random_init"]
    assert len(set(registry.FIGURES.values())) == len(names)
    root = Path(__file__).resolve().parents[1]
    for s in registry.SECTIONS:
        assert (root / "experiments" / f"{s.name}.py").is_file()
        assert registry.get(s.name) is s and s.heading == f"Sec. {s.paper_section} {s.title} ({s.figure})"
    with pytest.raises(D2TLError, match="unknown section 'fig99'; choose one of box_size, box_shift"):
        registry.get("fig99")


def test_overwrite_guard_refuses_another_digest_only(tmp_path):
    from d2tl.reporting.guard import refuse_other

    prov = tmp_path / "provenance.json"
    refuse_other(prov, "report_fingerprint", "abc", lambda old: f"other {old}")  # no report yet
    prov.write_text(json.dumps({"report_fingerprint": "abc"}))
    refuse_other(prov, "report_fingerprint", "abc", lambda old: f"other {old}")  # the same report
    with pytest.raises(D2TLError, match="^other abc$"):
        refuse_other(prov, "report_fingerprint", "xyz", lambda old: f"other {old}")
    prov.write_text("not json")
    with pytest.raises(D2TLError, match="^other None$"):
        refuse_other(prov, "report_fingerprint", "xyz", lambda old: f"other {old}")


def test_learning_curve_figure_plots_accuracy_and_loss_per_epoch():
    """The random-init figure (the default configuration's learning curve) draws each arm's mean
    training and validation accuracy and loss per epoch, losses on a log scale."""
    import types

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2tl.sections.random_init import draw

    rows = []
    for arm, shift in (("random (default weights)", 0.0), ("formula-pre-trained (FractalDB)", 0.1)):
        for run in (0, 1):
            for epoch in (1, 2, 3):
                rows.append({"label": arm, "run": run, "epoch": epoch, "accuracy": 0.5 + 0.1 * epoch + shift,
                             "val_accuracy": 0.4 + 0.05 * epoch + run * 0.1, "loss": 2.0 / epoch + shift,
                             "val_loss": 5.0 / epoch + run})
    h = pd.DataFrame(rows)
    result = types.SimpleNamespace(table=pd.DataFrame({"label": h["label"].unique()}), histories=h, extra={})
    fig = draw(result, plt)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["train accuracy (mean over runs)", "validation accuracy (mean over runs)",
                      "train loss (mean over runs)", "validation loss (mean over runs)"]
    for ax, column in zip(fig.axes, ("accuracy", "val_accuracy", "loss", "val_loss")):
        for line, arm in zip(ax.get_lines(), result.table["label"]):
            expected = h.loc[h["label"] == arm].groupby("epoch")[column].mean()
            np.testing.assert_allclose(line.get_xdata(), expected.index)
            np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "linear", "log", "log"]
    plt.close(fig)


def test_long_figure_titles_wrap(tmp_path):
    """A long weights description (a file path and its hash) wraps instead of running off the page."""
    import types

    from d2tl.reporting.figures import save_figure

    seen = {}

    def draw(result, plt):
        fig, _ = plt.subplots(figsize=(6, 3))
        seen["fig"] = fig
        return fig

    prov = {"preset": "quick", "paper_run": False, "dataset": {"name": "synthetic"}, "weights_source": "x" * 400}
    result = types.SimpleNamespace(provenance=prov, summary=lambda: {"paper_section": "4.4", "title": "t"})
    save_figure(result, tmp_path / "f.png", draw)
    lines = seen["fig"]._suptitle.get_text().split("\n")
    assert len(lines) > 1 and max(map(len, lines)) <= int(6 * 72 / (8 * 0.48))
    assert (tmp_path / "f.png").stat().st_size > 0
