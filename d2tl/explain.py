"""``python -m d2tl explain``: pixel influence (eq. 2) and Grad-CAM overlays of one case, and the
whole interpretation experiment (Sec. 3.4, 4.5) behind ``experiments/interpretation.py``.

    python -m d2tl explain --model M.keras --cases C.csv --id P [--out DIR]

writes, for case P, its four ROIs with |df/dX| beside them (``influence_<label>_<P>.png``), the
same layout with Grad-CAM (``gradcam_<layer>_<label>_<P>.png``), the maps (``maps.npz``) and
``explain.json`` (score, feature-map sizes, and where the case table has lesion masks the share
of each map inside the lesion). ROIs are cut with the model's own ROI settings, read from its
``.d2tl.json`` sidecar (box, input size, normalisation; no shift). The methods are in
:mod:`d2tl.interpret`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_text
from .errors import D2TLError, DataError
from .provenance import dataset_info, provenance, write_json
from .views import IMAGES, LABELS

DEFAULT_RUNS = "results/runs"
DEFAULT_OUT = "results/interpretation"
# eq. (1) solver and Grad-CAM layers per preset. ``mixed10`` is the last block (1x1 below ~107 px
# input, so the quick preset's 77 px Grad-CAM is flat); ``mixed7`` is 3x3 at 77 px and 14x14 at 256 px.
PRESET_SETTINGS = {
    "paper": {"steps": 500, "layers": ("mixed10", "mixed7")},
    "quick": {"steps": 100, "layers": ("mixed10", "mixed7")},
}


def _log(line: str) -> None:
    print(line, flush=True)


def _settings(preset: str) -> dict:
    try:
        return dict(PRESET_SETTINGS[preset])
    except KeyError:
        raise D2TLError(f"unknown preset {preset!r}; choose one of {', '.join(PRESET_SETTINGS)}") from None


def roi_config_for(info: dict):
    """The model's ROI settings from its sidecar (:func:`d2tl.predict.roi_config_from`), and for
    sidecars written before ``RoiConfig.normalise_on`` existed, the normalisation those models
    were trained with (whole image) rather than today's default."""
    import dataclasses

    from .predict import roi_config_from

    config = roi_config_from(info)
    names = {f.name for f in dataclasses.fields(config)}
    if "normalise_on" in names and "normalise_on" not in info["config"]["roi"]:
        config = dataclasses.replace(config, normalise_on="image")
    return config


def _rows_by_id(table: pd.DataFrame, ids) -> list:
    known = list(table["id"].astype(str))
    rows = []
    for cid in ids:
        if str(cid) not in known:
            raise DataError(f"patient {cid} is not in the case table (ids: {', '.join(known[:8])}"
                            f"{', ...' if len(known) > 8 else ''})")
        rows.append(table.iloc[known.index(str(cid))])
    return rows


def _case_json(expl, i: int) -> dict:
    from .interpret import pooled_share

    case, maps = expl.case(i)
    out = {"id": case.case_id, "label": case.label, "p_malignant": float(expl.scores[i]),
           "feature_map_sizes": {layer: list(s[IMAGES[0]]) for layer, s in expl.feature_shapes.items()}}
    if case.masks is not None:
        shares = {}
        for name, m in maps.items():
            share, area = pooled_share(m, case.masks)
            shares[name] = {"share": share, "area_share": area, "ratio": share / area if area > 0 else None}
        out["lesion_shares"] = shares
    return out


def explain_case(model_path, cases_csv, case_id, out=None, layers=("mixed10",), dpi: int = 110) -> dict:
    """Figures, maps and a JSON record for one case; returns the record (with the paths)."""
    from .data.cases import load_cases
    from .interpret import case_inputs, explain, write_case_figures
    from .predict import load_trained

    start = time.perf_counter()
    table = load_cases(cases_csv)
    row = _rows_by_id(table, [case_id])[0]
    model, info = load_trained(model_path)
    roi = roi_config_for(info)
    case = case_inputs(row, roi)
    out = Path(out) if out else Path(model_path).parent / "explain" / str(case_id)
    expl = explain(model, [case], layers=tuple(layers))
    paths = write_case_figures(expl, 0, out, dpi=dpi)
    with atomic_path(out / "maps.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{f"image_{k}": case.images[k] for k in IMAGES},
                     **{f"influence_{k}": expl.signed[k][0] for k in IMAGES},
                     **{f"gradcam_{layer}_{k}": m[k][0] for layer, m in expl.gradcam.items() for k in IMAGES},
                     **({f"mask_{k}": case.masks[k] for k in IMAGES} if case.masks is not None else {}))
    record = {**_case_json(expl, 0), "figures": [str(p) for p in paths], "maps": str(out / "maps.npz"),
              "seconds": time.perf_counter() - start}
    write_json(out / "explain.json", {**record, "provenance": provenance(
        config={"model_config": info["config"], "gradcam_layers": list(layers), "roi": roi.to_dict()},
        seed=None, preset=info["config"].get("preset", "unknown"), dataset=dataset_info(cases_csv, table),
        weights_source=", ".join(info.get("weights_source") or []) or None, model=str(model_path))})
    return record


# ------------------------------------------------------------------------------ experiment

def find_default_model(root=DEFAULT_RUNS, preset: str = "quick", cases="data/synthetic/cases.csv") -> Path:
    """``model.keras`` of ``preset``'s default configuration on ``cases``, found under ``root``
    (``OUT/runs``) by its configuration hash (:mod:`d2tl.default_result`), never as the newest
    matching file; an error naming the hash and the command to train it when it is missing."""
    from .default_result import require_default

    return require_default(cases, preset, root, "model.keras")


def untrained_model(info: dict, seed: int = 0):
    """The trained model's architecture at its starting weights (backbones as recorded in the
    sidecar: ImageNet or random; fresh head), built under ``seed``: the control for the check."""
    from .model import ModelConfig, build_model
    from .train import _seed_everything

    config = dict(info["config"]["model"])
    sources = [str(s) for s in (info.get("weights_source") or [])]
    if not sources or any(s.startswith("random") for s in sources):
        config["weights"] = "random"
    elif config.get("weights") == "auto":
        config["weights"] = "imagenet"
    _seed_everything(seed, deterministic=False)  # Keras's seed without re-seeding TensorFlow's (retracing)
    return build_model(ModelConfig(**config))


def _evaluated_ids(model_path, table) -> tuple[list[str], pd.DataFrame | None]:
    """Test-case ids from ``predictions.csv`` beside the model (those in ``table``), else all."""
    known = list(table["id"].astype(str))
    path = Path(model_path).with_name("predictions.csv")
    if path.is_file():
        predictions = pd.read_csv(path, dtype={"id": str})
        ids = [i for i in predictions["id"] if i in known]
        if ids:
            return ids, predictions[predictions["id"].isin(ids)]
    return known, None


def run_interpretation(model_path=None, cases_csv="data/synthetic/cases.csv", out=None, preset: str = "quick",
                       patients=None, layers=None, representation=None, all_cases: bool = False,
                       runs_root=DEFAULT_RUNS, control: bool = True, log=_log, dpi: int = 110) -> dict:
    """Sec. 3.4/4.5 on a trained model; writes ``out`` (default ``results/interpretation/<preset>``):

    ``class_representations.png`` (Fig. 11) and ``.npz``, ``representation_history.csv``,
    ``influence_<label>_<id>.png`` (Figs. 12, 13) and ``gradcam_<layer>_<label>_<id>.png`` for the
    chosen patients (default: the most confidently correct benign and malignant test cases of
    the model's ``predictions.csv``), ``lesion_shares.csv``/``.md`` (every test case with masks,
    or every case with ``all_cases``), ``summary.json`` and ``provenance.json``. With ``control``
    the shares are also measured on the same architecture before training
    (:func:`untrained_model`, methods prefixed ``untrained_``), so a share can be told apart from
    what an untrained network's gradients already give.
    Returns the summary (mean shares, patients, seconds).
    """
    from .data.cases import load_cases
    from .interpret import (RepresentationConfig, case_inputs, class_representations, confident_correct,
                            explain, plot_representations, share_rows, shares_markdown, summarise_shares,
                            write_case_figures)
    from .predict import load_trained

    t0 = time.perf_counter()
    settings = _settings(preset)
    layers = tuple(layers or settings["layers"])
    rep_config = representation or RepresentationConfig(steps=settings["steps"])
    model_path = Path(model_path) if model_path else find_default_model(runs_root, preset, cases_csv)
    out = Path(out) if out else Path(DEFAULT_OUT) / preset
    seconds = {}

    table = load_cases(cases_csv)
    model, info = load_trained(model_path)
    roi = roi_config_for(info)
    seconds["load"] = time.perf_counter() - t0
    log(f"interpretation: model {model_path} ({roi.input_size} px inputs, box {roi.box} px), cases {cases_csv}")

    ids, predictions = _evaluated_ids(model_path, table)
    if all_cases:
        ids = list(table["id"].astype(str))
    rows = _rows_by_id(table, ids)
    t = time.perf_counter()
    cases = [case_inputs(row, roi) for row in rows]
    seconds["rois"] = time.perf_counter() - t

    t = time.perf_counter()
    expl = explain(model, cases, layers=layers)
    seconds["maps"] = time.perf_counter() - t
    scored = pd.DataFrame({"id": [c.case_id for c in cases], "label": [c.label for c in cases],
                           "p_malignant": expl.scores})
    score_gap = None
    if predictions is not None:  # the ROIs must be the training's: the scores must agree
        recorded = predictions.set_index("id")["p_malignant"]
        score_gap = float(np.max(np.abs(scored.set_index("id")["p_malignant"] - recorded.loc[scored["id"]].to_numpy())))
        if score_gap > 1e-3:
            log(f"WARNING: scores differ from {Path(model_path).with_name('predictions.csv')} by up to "
                f"{score_gap:.3g}: the ROIs are not cut as in training")
    if patients:  # {label: id}
        chosen = {str(k): str(v) for k, v in dict(patients).items()}
        missing = [p for p in chosen.values() if p not in set(scored["id"])]
        if missing:  # a chosen patient outside the evaluated set: add it
            extra = [case_inputs(r, roi) for r in _rows_by_id(table, missing)]
            more = explain(model, extra, layers=layers)
            cases, expl = cases + extra, _merge(expl, more)
    else:
        chosen = confident_correct(predictions if predictions is not None else scored)
    index = {c.case_id: i for i, c in enumerate(expl.cases)}
    n = len(ids)
    methods = {name: {k: m[k][:n] for k in IMAGES} for name, m in expl.methods().items()}
    control_source = None
    if control:
        t = time.perf_counter()
        try:
            untrained, control_source = untrained_model(info, seed=rep_config.seed)
        except D2TLError as exc:
            log(f"no untrained control: {exc}")
        else:
            reference = explain(untrained, cases[:n], layers=layers)
            methods.update({f"untrained_{name}": m for name, m in reference.methods().items()})
            del untrained
        seconds["control"] = time.perf_counter() - t

    t = time.perf_counter()
    log(f"eq. (1): {rep_config.steps} {rep_config.optimizer} steps, lambda {rep_config.lam:g} "
        f"({rep_config.penalty}-space l2), start {rep_config.start}")
    rep = class_representations(model, rep_config, log=log)
    seconds["representation"] = time.perf_counter() - t

    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        t = time.perf_counter()
        figures = [plot_representations(rep, tmp / "class_representations.png", dpi=dpi)]
        for label, cid in chosen.items():
            figures += write_case_figures(expl, index[cid], tmp, dpi=dpi)
        seconds["figures"] = time.perf_counter() - t
        with open(tmp / "class_representations.npz", "wb") as f:
            np.savez(f, targets=np.array(rep.targets), **{k: v for k, v in rep.images.items()})
        rep.history.to_csv(tmp / "representation_history.csv", index=False)
        shares = share_rows(expl.cases[:n], expl.scores[:n], methods)
        shares.to_csv(tmp / "lesion_shares.csv", index=False)
        write_text(tmp / "lesion_shares.md", shares_markdown(
            shares, list(methods), title=f"Share of each map inside the lesion ({len(shares)} "
                                   f"{'cases' if all_cases else 'test cases'}, preset {preset})"))
        summary = {
            "out": str(out), "model": str(model_path), "cases": str(cases_csv), "preset": preset,
            "input_size": roi.input_size, "box": roi.box, "evaluated": "all cases" if all_cases else
            ("test cases (predictions.csv)" if predictions is not None else "all cases (no predictions.csv)"),
            "max_score_difference_vs_predictions": score_gap,
            "patients": chosen,
            "patient_scores": {label: float(expl.scores[index[cid]]) for label, cid in chosen.items()},
            "gradcam_feature_map_sizes": {layer: list(s[IMAGES[0]]) for layer, s in expl.feature_shapes.items()},
            "shares": summarise_shares(shares, list(methods)),
            "control_weights": control_source,
            "representation": {"config": rep_config.to_dict(),
                               "final": rep.final()[["target", "score", "data", "reg", "loss"]].to_dict("records"),
                               "start": rep.history[rep.history["step"] == 0][["target", "score", "loss"]]
                               .to_dict("records")},
            "figures": [str(out / Path(p).name) for p in figures],
        }
        seconds["total"] = time.perf_counter() - t0
        summary["seconds"] = seconds
        prov = provenance(
            config={"interpretation": {"gradcam_layers": list(layers), "representation": rep_config.to_dict(),
                                       "patients": chosen, "all_cases": all_cases},
                    "model_config": info["config"]},
            seed=rep_config.seed, preset=preset, dataset=dataset_info(cases_csv, table),
            weights_source=", ".join(info.get("weights_source") or []) or None, model=str(model_path),
            model_selected={"run": info.get("selected_run"), "epoch": info.get("selected_epoch")})
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "provenance.json", prov)
    s = summary["shares"]
    if s.get("n_cases"):
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        log(f"inside-lesion share over {s['n_cases']} cases: lesion area {fmt(s['area_share_mean'])}; "
            + "; ".join(f"{m} {fmt(s[f'{m}_share_mean'])} (ratio {fmt(s[f'{m}_ratio_mean'])})" for m in methods))
    log(f"wrote {out} in {seconds['total']:.1f} s (maps {seconds['maps']:.1f} s, eq. (1) "
        f"{seconds['representation']:.1f} s, figures {seconds['figures']:.1f} s)")
    return summary


def _merge(a, b):
    from .interpret import Explanation

    cat = lambda x, y: {k: np.concatenate([x[k], y[k]]) for k in x}  # noqa: E731
    return Explanation(cases=a.cases + b.cases, scores=np.concatenate([a.scores, b.scores]),
                       influence=cat(a.influence, b.influence), signed=cat(a.signed, b.signed),
                       gradcam={layer: cat(a.gradcam[layer], b.gradcam[layer]) for layer in a.gradcam},
                       feature_shapes=a.feature_shapes)


def add_experiment_arguments(parser, default_cases: str = "data/synthetic/cases.csv") -> None:
    from .interpret import OPTIMIZERS, PARAMETRISATIONS, PENALTIES, STARTS, RepresentationConfig

    d = RepresentationConfig()
    parser.add_argument("--model", help="model.keras (default: the preset's default configuration, found by its "
                                        "configuration hash under --runs-root)")
    parser.add_argument("--cases", default=default_cases, help="case table CSV (default: %(default)s)")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESET_SETTINGS))
    parser.add_argument("--out", help=f"output folder (default: {DEFAULT_OUT}/<preset>)")
    parser.add_argument("--runs-root", default=DEFAULT_RUNS,
                        help="results store (OUT/runs) holding the default model (default: %(default)s)")
    parser.add_argument("--patients", nargs=2, metavar=("BENIGN", "MALIGNANT"),
                        help="ids for the influence figures (default: most confidently correct test cases)")
    parser.add_argument("--gradcam-layers", nargs="+", help="backbone layers for Grad-CAM (preset's if omitted)")
    parser.add_argument("--all-cases", action="store_true", help="measure lesion shares on every case, not the test set")
    parser.add_argument("--no-control", action="store_true",
                        help="skip the shares of the untrained architecture (the control)")
    g = parser.add_argument_group("eq. (1)")
    g.add_argument("--lam", type=float, default=d.lam, help="lambda on the sum of squared pixels (default %(default)g)")
    g.add_argument("--penalty", default=d.penalty, choices=PENALTIES,
                   help="where the l2 norm is taken: network (InceptionV3's [-1, 1] input, mid-grey neutral; "
                        "default) or pixel (the [0, 1] ROI, black neutral)")
    g.add_argument("--steps", type=int, help="descent steps (preset's if omitted)")
    g.add_argument("--step-size", type=float, default=d.step_size)
    g.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS)
    g.add_argument("--start", default=d.start, choices=[s for s in STARTS if s != "mean"])
    g.add_argument("--parametrisation", default=d.parametrisation, choices=PARAMETRISATIONS)
    g.add_argument("--seed", type=int, default=d.seed)


def run_experiment_args(args) -> dict:
    from .interpret import RepresentationConfig

    rep = RepresentationConfig(lam=args.lam, steps=args.steps if args.steps is not None else
                               _settings(args.preset)["steps"], step_size=args.step_size, optimizer=args.optimizer,
                               start=args.start, parametrisation=args.parametrisation, seed=args.seed,
                               penalty=args.penalty)
    if not Path(args.cases).is_file():
        raise D2TLError(f"case table {args.cases} does not exist (python -m d2tl synth writes the synthetic one)")
    return run_interpretation(args.model, args.cases, args.out, args.preset,
                              patients=dict(zip(LABELS, args.patients)) if args.patients else None,
                              layers=args.gradcam_layers, representation=rep, all_cases=args.all_cases,
                              runs_root=args.runs_root, control=not args.no_control)


# --------------------------------------------------------------------------------- command

def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="model.keras written by python -m d2tl train")
    parser.add_argument("--cases", required=True, help="case table CSV holding the case")
    parser.add_argument("--id", required=True, help="case id")
    parser.add_argument("--out", help="output folder (default: explain/<id> beside the model)")
    parser.add_argument("--gradcam-layers", nargs="+", default=["mixed10"],
                        help="backbone layers for Grad-CAM (default mixed10, the last block; mixed7 is finer)")
    parser.add_argument("--dpi", type=int, default=110)


def run(args) -> int:
    from . import checks

    checks.count("--dpi", args.dpi, low=10, high=1200)
    checks.input_file("--model", args.model, "model file")
    checks.input_file("--cases", args.cases, "case table")
    if args.out is not None:
        checks.output_folder("--out", args.out)
    record = explain_case(args.model, args.cases, args.id, args.out, layers=args.gradcam_layers, dpi=args.dpi)
    print(f"patient {record['id']} ({record['label']}): malignant score {record['p_malignant']:.3f}")
    for name, s in record.get("lesion_shares", {}).items():
        print(f"  {name}: {s['share']:.3f} of the map inside the lesion (lesion area {s['area_share']:.3f})")
    for path in record["figures"]:
        print(f"wrote {path}")
    sys.stdout.flush()
    return 0
