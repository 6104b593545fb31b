"""The interpretation experiment (Sec. 3.4, 4.5) behind ``experiments/interpretation.py``: eq. (1),
eq. (2) and Grad-CAM on a trained model, the inside-lesion check on its test cases against the
same architecture untrained, and the figures, tables, summary and provenance of one folder."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path, write_text
from ..protocol.defaults import DEFAULT_CASES
from ..protocol.defaults import DEFAULT_OUT as RESULTS
from ..io.errors import D2TLError
from ..io.provenance import dataset_info, portable, provenance, write_json
from ..protocol.views import IMAGES, LABELS
from .explanation import Explanation, explain, merge
from .figures import plot_representations, write_case_figures
from .inputs import case_inputs, roi_config_for, rows_by_id
from .lesion_check import share_rows, shares_markdown, summarise_shares
from .representation import RepresentationConfig, class_representations

DEFAULT_RUNS = f"{RESULTS}/runs"
DEFAULT_OUT = f"{RESULTS}/interpretation"
# eq. (1) solver and Grad-CAM layers per preset. ``mixed10`` is the last block (1x1 below ~107 px
# input, so the quick preset's 77 px Grad-CAM is flat); ``mixed7`` is 3x3 at 77 px and 14x14 at 256 px.
PRESET_SETTINGS = {
    "paper": {"steps": 500, "layers": ("mixed10", "mixed7")},
    "quick": {"steps": 100, "layers": ("mixed10", "mixed7")},
}


def _log(line: str) -> None:
    print(line, flush=True)


def preset_settings(preset: str) -> dict:
    """eq. (1)'s steps and the Grad-CAM layers of ``preset``."""
    try:
        return dict(PRESET_SETTINGS[preset])
    except KeyError:
        raise D2TLError(f"unknown preset {preset!r}; choose one of {', '.join(PRESET_SETTINGS)}") from None


def confident_correct(predictions: pd.DataFrame, ids=None) -> dict[str, str]:
    """The most confidently correct benign and malignant case of ``predictions``
    (columns id, label, p_malignant); where a class has no correct case, its most confident one."""
    table = predictions if ids is None else predictions[predictions["id"].isin(list(ids))]
    chosen = {}
    for label in LABELS:
        rows = table[table["label"] == label]
        if rows.empty:
            continue
        confidence = rows["p_malignant"] if label == "malignant" else 1 - rows["p_malignant"]
        chosen[label] = str(rows.loc[confidence.idxmax(), "id"])
    return chosen


# ------------------------------------------------------------------------------ experiment

def find_default_model(root=DEFAULT_RUNS, preset: str = "quick", cases=DEFAULT_CASES) -> Path:
    """``model.keras`` of ``preset``'s default configuration on ``cases``, found under ``root``
    (``OUT/runs``) by its configuration hash (:mod:`d2tl.training.default_result`), never as the newest
    matching file; an error naming the hash and the command to train it when it is missing."""
    from ..training.default_result import require_default

    return require_default(cases, preset, root, "model.keras")


def untrained_model(info: dict, seed: int = 0):
    """The trained model's architecture at its starting weights (backbones as recorded in the
    sidecar: ImageNet or random; fresh head), built under ``seed``: the control for the check."""
    from ..model import ModelConfig, build_model
    from ..model.seeding import seed_everything
    from ..training.run_folder import resolve_weights

    config = dict(info["config"]["model"])
    sources = [str(s) for s in (info.get("weights_source") or [])]
    if not sources or any(s.startswith("random") for s in sources):
        config["weights"] = "random"
    elif config.get("weights") == "auto":
        config["weights"] = "imagenet"
    seed_everything(seed, deterministic=False, seed_tensorflow=False)  # Keras's seed without re-seeding TensorFlow's (retracing)
    return build_model(ModelConfig(**config), resolve_weights(config["weights"]))


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


def run_interpretation(model_path=None, cases_csv=DEFAULT_CASES, out=None, preset: str = "quick",
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
    from ..data.cases import load_cases
    from ..training.predict import load_trained

    t0 = time.perf_counter()
    layers, rep_config = _settings(preset, layers, representation)
    model_path = Path(model_path) if model_path else find_default_model(runs_root, preset, cases_csv)
    out = Path(out) if out else Path(DEFAULT_OUT) / preset
    seconds = {}

    table = load_cases(cases_csv)
    model, info = load_trained(model_path)
    roi = roi_config_for(info)
    seconds["load"] = time.perf_counter() - t0
    log(f"interpretation: model {model_path} ({roi.input_size} px inputs, box {roi.box} px), cases {cases_csv}")
    maps = map_cases(model, table, roi, model_path, layers, all_cases, patients, seconds, log)
    control_source = None
    if control:
        with _timed(seconds, "control"):
            control_source = add_untrained_control(maps, info, rep_config.seed, layers, log)
    with _timed(seconds, "representation"):
        rep = solve_eq1(model, rep_config, log)

    with atomic_path(out) as tmp:
        tmp.mkdir(parents=True)
        with _timed(seconds, "figures"):
            figures = write_figures(tmp, rep, maps, dpi)
        shares = write_tables(tmp, rep, maps, all_cases, preset)
        summary = {
            "out": str(out), "model": str(model_path), "cases": str(cases_csv), "preset": preset,
            "input_size": roi.input_size, "box": roi.box, "evaluated": maps.evaluated,
            "max_score_difference_vs_predictions": maps.score_gap, **maps.summary(),
            "shares": summarise_shares(shares, list(maps.methods)), "control_weights": control_source,
            "representation": _representation_summary(rep_config, rep),
            "figures": [str(out / Path(p).name) for p in figures],
        }
        seconds["total"] = time.perf_counter() - t0
        summary["seconds"] = seconds
        prov = provenance(
            config={"interpretation": {"gradcam_layers": list(layers), "representation": rep_config.to_dict(),
                                       "patients": maps.chosen, "all_cases": all_cases}, "model_config": info["config"]},
            seed=rep_config.seed, preset=preset, dataset=dataset_info(cases_csv, table), model=str(model_path),
            **_model_record(info))
        write_json(tmp / "summary.json", portable(summary))
        write_json(tmp / "provenance.json", prov)
    _log_outcome(summary, maps.methods, out, log)
    return summary


def _settings(preset: str, layers, representation) -> tuple[tuple, RepresentationConfig]:
    """The Grad-CAM layers and eq. (1)'s configuration: as given, else the preset's."""
    settings = preset_settings(preset)
    return tuple(layers or settings["layers"]), representation or RepresentationConfig(steps=settings["steps"])


def solve_eq1(model, rep_config: RepresentationConfig, log):
    """The class representations of eq. (1), its settings logged first."""
    log(f"eq. (1): {rep_config.steps} {rep_config.optimizer} steps, lambda {rep_config.lam:g} "
        f"({rep_config.penalty}-space l2), start {rep_config.start}")
    return class_representations(model, rep_config, log=log)


@contextlib.contextmanager
def _timed(seconds: dict, key: str):
    """Add the seconds the block takes to ``seconds[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[key] = time.perf_counter() - start


@dataclasses.dataclass
class Maps:
    """The maps of the evaluated cases (the first ``n`` of ``expl``; chosen patients outside them follow),
    the patients shown ({label: id}) and the maps per method for the shares ({method: {image: maps}})."""

    expl: Explanation
    n: int
    chosen: dict
    methods: dict
    evaluated: str
    score_gap: float | None = None

    def index(self, case_id: str) -> int:
        return {c.case_id: i for i, c in enumerate(self.expl.cases)}[case_id]

    def summary(self) -> dict:
        return {"patients": self.chosen,
                "patient_scores": {label: float(self.expl.scores[self.index(cid)]) for label, cid in self.chosen.items()},
                "gradcam_feature_map_sizes": {layer: list(s[IMAGES[0]])
                                              for layer, s in self.expl.feature_shapes.items()}}


def map_cases(model, table, roi, model_path, layers, all_cases: bool, patients, seconds: dict, log) -> Maps:
    """Influence and Grad-CAM maps of the evaluated cases (the test cases of ``predictions.csv``
    beside the model, or all), their scores checked against it, and the patients to show."""
    ids, predictions = _evaluated_ids(model_path, table)
    if all_cases:
        ids = list(table["id"].astype(str))
    with _timed(seconds, "rois"):
        cases = [case_inputs(row, roi) for row in rows_by_id(table, ids)]
    with _timed(seconds, "maps"):
        expl = explain(model, cases, layers=layers)
    scored = pd.DataFrame({"id": [c.case_id for c in cases], "label": [c.label for c in cases],
                           "p_malignant": expl.scores})
    score_gap = None
    if predictions is not None:  # the ROIs must be the training's: the scores must agree
        score_gap = _score_gap(scored, predictions)
        if score_gap > 1e-3:
            log(f"WARNING: scores differ from {Path(model_path).with_name('predictions.csv')} by up to "
                f"{score_gap:.3g}: the ROIs are not cut as in training")
    if patients:  # {label: id}
        chosen = {str(k): str(v) for k, v in dict(patients).items()}
        missing = [p for p in chosen.values() if p not in set(scored["id"])]
        if missing:  # a chosen patient outside the evaluated set: add it
            extra = [case_inputs(r, roi) for r in rows_by_id(table, missing)]
            expl = merge(expl, explain(model, extra, layers=layers))
    else:
        chosen = confident_correct(predictions if predictions is not None else scored)
    n = len(ids)
    evaluated = "all cases" if all_cases else ("test cases (predictions.csv)" if predictions is not None
                                               else "all cases (no predictions.csv)")
    return Maps(expl, n, chosen, {name: {k: m[k][:n] for k in IMAGES} for name, m in expl.methods().items()},
                evaluated, score_gap)


def _score_gap(scored: pd.DataFrame, predictions: pd.DataFrame) -> float:
    """The largest difference between the scores here and those recorded in training's ``predictions.csv``."""
    recorded = predictions.set_index("id")["p_malignant"]
    both = scored[scored["id"].isin(recorded.index)]  # --all-cases scores cases training did not record
    if both.empty:
        return 0.0
    return float(np.max(np.abs(both.set_index("id")["p_malignant"] - recorded.loc[both["id"]].to_numpy())))


def add_untrained_control(maps: Maps, info: dict, seed: int, layers, log) -> str | None:
    """Add the untrained architecture's maps of the evaluated cases (``untrained_<method>``) to
    ``maps.methods``; returns the control's weights source, None when it cannot be built."""
    try:
        untrained, source = untrained_model(info, seed=seed)
    except D2TLError as exc:
        log(f"no untrained control: {exc}")
        return None
    reference = explain(untrained, maps.expl.cases[:maps.n], layers=layers)
    maps.methods.update({f"untrained_{name}": m for name, m in reference.methods().items()})
    del untrained
    return source


def write_figures(tmp: Path, rep, maps: Maps, dpi: int) -> list:
    """Fig. 11 (class representations) and the chosen patients' influence and Grad-CAM figures."""
    figures = [plot_representations(rep, tmp / "class_representations.png", dpi=dpi)]
    for label, cid in maps.chosen.items():
        figures += write_case_figures(maps.expl, maps.index(cid), tmp, dpi=dpi)
    return figures


def write_tables(tmp: Path, rep, maps: Maps, all_cases: bool, preset: str) -> pd.DataFrame:
    """eq. (1)'s images and history, and the inside-lesion shares (CSV and Markdown); returns the shares."""
    with open(tmp / "class_representations.npz", "wb") as f:
        np.savez(f, targets=np.array(rep.targets), **{k: v for k, v in rep.images.items()})
    rep.history.to_csv(tmp / "representation_history.csv", index=False)
    shares = share_rows(maps.expl.cases[:maps.n], maps.expl.scores[:maps.n], maps.methods)
    shares.to_csv(tmp / "lesion_shares.csv", index=False)
    write_text(tmp / "lesion_shares.md", shares_markdown(
        shares, list(maps.methods), title=f"Share of each map inside the lesion ({len(shares)} "
                                          f"{'cases' if all_cases else 'test cases'}, preset {preset})"))
    return shares


def _model_record(info: dict) -> dict:
    """The trained model's weights source and selected run and epoch, from its sidecar."""
    return {"weights_source": ", ".join(info.get("weights_source") or []) or None,
            "model_selected": {"run": info.get("selected_run"), "epoch": info.get("selected_epoch")}}


def _representation_summary(rep_config: RepresentationConfig, rep) -> dict:
    return {"config": rep_config.to_dict(),
            "final": rep.final()[["target", "score", "data", "reg", "loss"]].to_dict("records"),
            "start": rep.history[rep.history["step"] == 0][["target", "score", "loss"]].to_dict("records")}


def _log_outcome(summary: dict, methods: dict, out: Path, log) -> None:
    s, seconds = summary["shares"], summary["seconds"]
    if s.get("n_cases"):
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        log(f"inside-lesion share over {s['n_cases']} cases: lesion area {fmt(s['area_share_mean'])}; "
            + "; ".join(f"{m} {fmt(s[f'{m}_share_mean'])} (ratio {fmt(s[f'{m}_ratio_mean'])})" for m in methods))
    log(f"wrote {out} in {seconds['total']:.1f} s (maps {seconds['maps']:.1f} s, eq. (1) "
        f"{seconds['representation']:.1f} s, figures {seconds['figures']:.1f} s)")
