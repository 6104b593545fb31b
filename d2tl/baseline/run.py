"""``python -m d2tl baseline``: the conventional baseline of Sec. 4.6 (Fig. 14), end to end.

Reads a case table with lesion masks, extracts (or reads cached) texture and shape features,
splits the cases as D2TL does (``--split CSV``, or :func:`d2tl.data.split.split_cases` with
``--split-seed``), chooses each classifier's hyper-parameters on the validation cases, and writes, to
``OUT/<configuration hash>/``:

=========================  ==================================================================
``metrics.csv``,           one row per method and mask variant: ours (GLM-LASSO, SVM, random
``metrics.md``             forest, the two "in the style of" related-work rows, the
                           intensity-only control), D2TL on the same split when its metrics file
                           is found, and the numbers the paper reports; test metrics with 95 %
                           intervals, external-set columns ``ext_*`` (:mod:`.report`)
``metrics.json``           the same, machine-readable, with the external set's description, the
                           best conventional baseline and the control (test and external), and
                           the data sets' oracle figures (:mod:`d2tl.data.oracle`)
``fig14_baseline.png``     bars of test accuracy, sensitivity, specificity; the paper's and the
                           cited works' values as black ticks; the other masks as diamonds
``predictions.csv``        every test case's malignancy score and call per method
                           (``<method>_score``; other masks ``<method>_<masks>_score``)
``external_predictions``   the same for every external case (with ``--external``)
``.csv``
``selection.csv``          every hyper-parameter setting tried, per method and masks
``features.csv``,          the feature tables (one row per case; other masks:
``intensity.csv``          ``features_<masks>.csv``, ``intensity_<masks>.csv``)
``split.csv``              the split used
``provenance.json``        configuration, seed, data sets, split fingerprint, timing, versions
=========================  ==================================================================

The folder name is the hash of everything that determines the result (data set fingerprint,
split, feature settings, masks, classifiers and grids, seed, the external table's fingerprint),
so a run with another configuration never overwrites a finished one; the same configuration is
recomputed and replaced atomically. ``OUT/LATEST`` names the last finished folder. Features are
cached per case in ``OUT/feature-cache`` (``--cache``), so re-running the classifiers is cheap.

Masks (default: perturbed like a hand drawing)
    The paper's outlines were hand-drawn by a radiologist; synthetic case tables carry the true
    ones, which no reader draws. By default every mask is perturbed by
    :data:`DEFAULT_PERTURBATION` (:class:`d2tl.baseline.shape.MaskPerturbation`: a seeded smooth
    radial warp of up to 20 % of the lesion radius, then a dilation or erosion of up to 1 image
    px). The amplitude is chosen so that two outlines of one lesion made with two seeds overlap
    as much as two radiologists' outlines of a mammographic mass: intersection over union
    0.76 +- 0.10 on data/synthetic's 192 masks, against 0.76 +- 0.13 between two radiologists
    in Sahiner et al. (2001), "Computer-aided characterization of mammographic masses: accuracy
    of mass segmentation and its effects on characterization". Against the true outline: 0.82
    (Dice 0.90). In the same run every method is also fitted and selected on the exact masks
    (the masks as given), reported as rows "<method> (exact masks)" (``--no-exact-masks``
    skips them). ``--perturb-masks 0`` uses the masks as given only (for real data whose masks
    are already hand-drawn); ``--perturb-masks A`` / ``--perturb-dilate PX`` set others.

Intensity-only control (:mod:`d2tl.baseline.intensity`)
    GLM-LASSO on brightness statistics of the lesion alone, selected like the others, in its own
    row "Intensity-only control" (role ``control``); the report gives its accuracy and AUC beside
    the best conventional baseline's. It never counts as "the best conventional baseline"
    (:mod:`d2tl.baseline.external`). ``--no-intensity-control`` leaves it out.

External set (``--external CASES.csv``; :mod:`d2tl.baseline.external`)
    The selected classifiers, fitted on the training cases, also score an independent case
    table, with 95 % intervals. :func:`d2tl.baseline.external.best_external_baseline` (also
    importable from here) reads a finished folder's best conventional baseline on it, for
    D2TL's report.

D2TL's result: ``--d2tl-metrics PATH``, or by default the preset's default configuration
(dual-mode, full-tune, box 256, no shift) found by its configuration hash in OUT's parent
folder's results store (``results/runs/<hash>/``) by :func:`find_d2tl_metrics`, never the newest
file: a ``metrics.json`` as ``d2tl.training`` writes it (``{"selected": {"test": {...}},
"provenance": {...}}`` with ``split.csv`` and ``predictions.csv`` beside it), used when it was made
on the same case table and the same split. With its ``predictions.csv``, the D2TL row gets 95%
intervals and ``paired_tests.csv`` compares D2TL with each classifier on the same test cases
(exact McNemar, paired bootstrap AUC difference, Holm; :mod:`d2tl.stats.section_tests`).
Also accepted from ``--d2tl-metrics``: a JSON object with ``accuracy``, ``sensitivity``,
``specificity`` (fractions; optional ``auc``) at the top level or under ``"test"``. A file
recording another split (``split.csv`` beside it, or ``"split_sha256"``, see
:func:`split_fingerprint`) or another data set is skipped; one with no split record is shown as
"D2TL (split not verified)". Absent or unreadable: no D2TL row.
"""

from __future__ import annotations

import os
import sys

import pandas as pd

from ..io.errors import D2TLError
from .classify import MODELS
from .d2tl_result import find_d2tl_metrics, load_d2tl_metrics, split_fingerprint  # noqa: F401
from .experiment import (DEFAULT_OUT, DEFAULT_PERTURBATION, PRESETS, BaselineConfig,  # noqa: F401
                         BaselineResult, check_masks, get_split, run_baseline)
from .result_files import _oracle_text
from .external import best_external_baseline  # noqa: F401
from .features import FeatureConfig
from .report import _pct
from .shape import MaskPerturbation


# --- command line -------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    from ..protocol.options import add_cases, add_out, add_preset, add_seed, add_split_seed

    add_cases(parser)  # with a lesion mask per view
    parser.add_argument("--external", default=None, metavar="CASES.csv",
                        help="an independent case table (with masks) that the selected classifiers also score, "
                        "with 95%% intervals, e.g. data/synthetic-external/cases.csv")
    parser.add_argument("--split", default=None, help="split CSV (id, part) to use, e.g. the one D2TL "
                        "was trained with; default: split_cases(table, --split-seed)")
    add_split_seed(parser)
    add_seed(parser)  # the classifiers' (and the mask perturbation's, without --perturb-seed)
    add_preset(parser, PRESETS)  # paper: the full hyper-parameter grids; quick: small grids, fewer trees
    add_out(parser, "baseline", "one sub-folder per configuration, named by its hash")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--refit", choices=("train", "train+val"), default="train",
                        help="refit the chosen setting on the training cases (default) or on train+val")
    parser.add_argument("--perturb-masks", type=float, default=DEFAULT_PERTURBATION.amplitude, metavar="A",
                        help="imitate hand-drawn outlines: smooth random radial warp of up to A x the lesion "
                        f"radius, seeded per case and view (default {DEFAULT_PERTURBATION.amplitude:g}: two such "
                        "outlines overlap like two radiologists'); 0: use the masks as given")
    parser.add_argument("--perturb-dilate", type=int, default=DEFAULT_PERTURBATION.dilate, metavar="PX",
                        help="with --perturb-masks: dilate or erode by up to PX image pixels "
                        f"(default {DEFAULT_PERTURBATION.dilate})")
    parser.add_argument("--perturb-seed", type=int, default=None, help="seed of the perturbation (default --seed)")
    parser.add_argument("--no-exact-masks", action="store_true",
                        help="with perturbed masks: skip the comparison rows on the exact masks")
    parser.add_argument("--no-intensity-control", action="store_true",
                        help="leave out the intensity-only control")
    parser.add_argument("--glcm-levels", type=int, default=FeatureConfig.glcm_levels,
                        help=f"grey levels of the lesion's co-occurrence matrices (default {FeatureConfig.glcm_levels})")
    parser.add_argument("--d2tl-metrics", default="auto",
                        help="D2TL metrics JSON to show beside the baseline; 'auto' (default): the best "
                        "D2TL result on the same data and split found under OUT's parent folder; 'none': skip")
    parser.add_argument("--cache", default=None, help="feature cache folder (default OUT/feature-cache)")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes for feature extraction")


def config_from_args(args) -> BaselineConfig:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    perturbation = None
    try:
        if args.perturb_masks:
            perturbation = MaskPerturbation(amplitude=args.perturb_masks, harmonics=DEFAULT_PERTURBATION.harmonics,
                                            dilate=args.perturb_dilate,
                                            seed=args.seed if args.perturb_seed is None else args.perturb_seed)
        return BaselineConfig(preset=args.preset, seed=args.seed, split_seed=args.split_seed, models=models,
                              refit=args.refit,
                              features=FeatureConfig(glcm_levels=args.glcm_levels), perturbation=perturbation,
                              exact_masks=not args.no_exact_masks, intensity_control=not args.no_intensity_control)
    except ValueError as exc:
        raise D2TLError(str(exc)) from None


def _line(r, prefix="") -> str:
    def one(name):
        value, low, high = r.get(f"{prefix}{name}"), r.get(f"{prefix}{name}_low"), r.get(f"{prefix}{name}_high")
        if value is None or pd.isna(value):
            return "-"
        if name == "auc":
            return f"{value:.2f}" + ("" if low is None or pd.isna(low) else f" [{low:.2f}-{high:.2f}]")
        return _pct(value) + ("" if low is None or pd.isna(low) else f" [{_pct(low)}-{_pct(high)}]")

    return (f"acc {one('accuracy')}, sens {one('sensitivity')}, spec {one('specificity')}, "
            f"AUC {one('auc')}")


def run(args) -> int:
    from ..io import checks

    checks.count("--seed", args.seed, low=0, high=2**32 - 1)
    checks.count("--split-seed", args.split_seed, low=0, high=2**32 - 1)
    checks.fraction("--perturb-masks", args.perturb_masks)
    checks.count("--perturb-dilate", args.perturb_dilate, low=0, high=100)
    checks.count("--perturb-seed", args.perturb_seed, low=0, high=2**32 - 1)
    checks.count("--glcm-levels", args.glcm_levels, low=2, high=255)
    checks.count("--jobs", args.jobs, low=1, high=256)
    checks.input_file("--cases", args.cases, "case table")
    for option, value in (("--external", args.external), ("--split", args.split)):
        if value is not None:
            checks.input_file(option, value)
    checks.output_folder("--out", args.out, "results folder")
    if args.cache is not None:
        checks.output_folder("--cache", args.cache, "feature cache folder")
    config = config_from_args(args)
    d2tl = None if str(args.d2tl_metrics).lower() == "none" else args.d2tl_metrics

    def progress(done, total):
        if sys.stderr.isatty():
            print(f"\rfeatures: {done}/{total} cases", end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done == total or done % 20 == 0:
            print(f"features: {done}/{total} cases", file=sys.stderr, flush=True)

    result = run_baseline(args.cases, config, split=args.split, out=args.out, cache_dir=args.cache,
                          jobs=args.jobs, d2tl_metrics=d2tl, external=args.external, progress=progress)
    timing = result.provenance["timing"]
    print(f"features: {result.features.shape[1]} per case, {result.seconds_per_case:.2f} s per case "
          f"({timing['cases_from_cache']} of {timing['cases_computed'] + timing['cases_from_cache']} "
          "case feature sets from cache)")
    shown = result.table[result.table["role"].isin(["baseline", "control"])]
    for _, r in shown.iterrows():
        print(f"  {r['method']:<34} test     {_line(r)}")
        if args.external:
            print(f"  {'':<34} external {_line(r, 'ext_')}")
    for block in result.provenance.get("oracle", {}).values():
        if block:
            print(f"  {_oracle_text(block)}")
    print(f"-> {result.folder}")
    return 0
