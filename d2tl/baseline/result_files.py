"""The files of a baseline result folder (``OUT/<hash>/``): metrics, predictions, selection,
split and features; :mod:`d2tl.baseline.run` documents them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.provenance import portable, portable_table, write_json
from ..stats import section_tests
from .report import markdown_table


def _suffix(masks: str, default: str) -> str:
    """The file and column suffix of a mask variant: none for the default masks."""
    return "" if masks == default else f"_{masks}"


def predictions_table(inputs, entries: list, default: str) -> pd.DataFrame:
    """Per case (id, label, part) of ``inputs`` (:class:`d2tl.baseline.experiment.Inputs`): each
    method's test score and call (empty off the test part)."""
    predictions = inputs.table[["id", "label"]].assign(part=inputs.parts.to_numpy())
    for e in entries:
        column = f"{e['name']}{_suffix(e['masks'], default)}"
        predictions[f"{column}_score"] = np.nan
        predictions[f"{column}_malignant"] = pd.NA
        predictions.loc[e["fit"].test_scores.index, f"{column}_score"] = e["fit"].test_scores.to_numpy()
        predictions.loc[e["fit"].test_pred.index, f"{column}_malignant"] = e["fit"].test_pred.to_numpy()
    return predictions


def write_metrics(tmp: Path, result_table, prov: dict, oracle_text: list, paired, summary: dict) -> None:
    """``metrics.csv``, ``metrics.md``, ``paired_tests.csv`` and ``metrics.json`` (``summary``)."""
    portable_table(result_table).to_csv(tmp / "metrics.csv", index=False)
    report = markdown_table(result_table, prov, oracle_text) + paired_markdown(paired)
    (tmp / "metrics.md").write_text(portable(report))
    paired.to_csv(tmp / "paired_tests.csv", index=False)
    write_json(tmp / "metrics.json", portable(summary))


def write_predictions(tmp: Path, inputs, predictions, ext_scores: dict, entries: list, default: str) -> None:
    """``predictions.csv``, ``external_predictions.csv`` (with an external set), ``selection.csv``, ``split.csv``."""
    predictions.to_csv(tmp / "predictions.csv", index=False)
    if "external" in inputs.sets:
        ext_pred = inputs.sets["external"][["id", "label"]].copy()
        for (name, masks), (scores, calls) in ext_scores.items():
            ext_pred[f"{name}{_suffix(masks, default)}_score"] = scores
            ext_pred[f"{name}{_suffix(masks, default)}_malignant"] = calls
        ext_pred.to_csv(tmp / "external_predictions.csv", index=False)
    selection = pd.concat([e["fit"].selection.assign(method=e["name"], masks=e["masks"]) for e in entries],
                          ignore_index=True)
    selection = selection[["method", "masks", "order", "params", "val_accuracy", "val_auc", "chosen"]]
    selection.to_csv(tmp / "selection.csv", index=False)
    pd.DataFrame({"id": inputs.table["id"], "part": inputs.parts.to_numpy()}).to_csv(tmp / "split.csv", index=False)


def write_features(tmp: Path, variants: dict, feats: dict, intensity: dict, default: str) -> None:
    """The main set's features (and intensity control) per mask variant."""
    for masks in variants:
        feats[("main", masks)].to_csv(tmp / f"features{_suffix(masks, default)}.csv")
        if intensity:
            intensity[("main", masks)].to_csv(tmp / f"intensity{_suffix(masks, default)}.csv")


def paired_markdown(paired: pd.DataFrame) -> str:
    """The paired-tests section of ``metrics.md`` (empty without a D2TL result beside)."""
    if not len(paired):
        return ""
    lines = ["", "## D2TL vs each classifier, paired on the test cases", "", *section_tests.markdown(paired),
             *[f"- {n}" for n in section_tests.notes(paired)]]
    return "\n".join(lines) + "\n"


def oracle_lines(oracle: dict, data: dict, ext_data: dict | None) -> list[str]:
    """``metrics.md``'s oracle lines: ``"<data set>: <oracle text>"`` for the data and external sets."""
    named = ((data.get("name"), oracle.get("data")), ((ext_data or {}).get("name"), oracle.get("external")))
    return [f"{name}: {_oracle_text(block)}" for name, block in named if block]


def _oracle_text(block: dict) -> str:
    from ..data.oracle import oracle_text

    return oracle_text(block)
