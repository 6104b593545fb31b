"""Classifiers of the conventional baseline: pipelines, validation-set selection, test metrics.

Every model is a scikit-learn pipeline: median imputation (a few GLCM/Haralick values are
undefined for very small lesions), standardisation (fitted on the training cases), classifier.

========  ===========================================================  ====================
name      classifier                                                   role
========  ===========================================================  ====================
lasso     GLM-LASSO: L1-penalised logistic regression (liblinear)      paper (Sec. 4.6)
svm       support vector machine (linear or RBF kernel)                paper
rf        random forest                                                paper
mateos    SVM on 17 GLCM descriptors of the recombined images          in the style of
          (:data:`d2tl.baseline.features.MATEOS_DESCRIPTORS`)          Mateos et al. 2016
danala    multilayer perceptron (L-BFGS) on the full feature set       in the style of
                                                                       Danala et al. 2018
intensity GLM-LASSO on brightness statistics only                      control
          (:mod:`d2tl.baseline.intensity`)
========  ===========================================================  ====================

Hyper-parameters are chosen on the validation part of the same split as D2TL (Sec. 4.6): each
grid point is fitted on the training cases and scored on the validation cases; the best
validation accuracy wins, ties broken by validation ROC AUC, then by grid order (grids list
simpler / more regularised settings first). The chosen setting is refitted on the training
cases (``refit="train"``, as D2TL's model is trained on the training set and only selected on
validation) or on training plus validation (``refit="train+val"``).

Metrics: accuracy, sensitivity (malignant called malignant), specificity (benign called
benign), ROC AUC from the malignancy score (class probability, or the SVM's decision value),
and the confusion matrix; the decision is the classifier's own (probability 0.5, SVM margin 0,
:func:`decision_threshold`).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from ..protocol.views import LABELS

MODELS = ("lasso", "svm", "rf", "mateos", "danala")
PAPER_MODELS = ("lasso", "svm", "rf")
CONTROL = "intensity"  # the intensity-only control: never "a conventional baseline"
TITLES = {
    "lasso": "GLM-LASSO",
    "svm": "SVM",
    "rf": "Random forest",
    "mateos": "GLCM descriptors + SVM (in the style of Mateos et al. 2016)",
    "danala": "MLP on all features (in the style of Danala et al. 2018)",
    "intensity": "Intensity-only control: GLM-LASSO on brightness statistics of the lesion (mean, SD, "
                 "percentiles, max, contrast to its surround), no texture or shape",
}
SHORT_TITLES = {"lasso": "GLM-LASSO", "svm": "SVM", "rf": "Random forest",
                "mateos": "Mateos-style", "danala": "Danala-style", "intensity": "Intensity-only control"}


def _grid(**axes) -> list[dict]:
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def _svm_grid(cs, gammas) -> list[dict]:
    return ([{"kernel": "linear", "C": c} for c in cs]
            + [{"kernel": "rbf", "C": c, "gamma": g} for g in gammas for c in cs])


# Grids per preset; the paper gives none. Order = tie-break order (more regularised first).
GRIDS = {
    "paper": {
        "lasso": _grid(C=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]),
        "svm": _svm_grid([0.01, 0.1, 1.0, 10.0, 100.0], ["scale", 0.1, 10.0]),
        "rf": _grid(n_estimators=[300], min_samples_leaf=[3, 1], max_features=["sqrt", 0.2]),
        "mateos": _svm_grid([0.01, 0.1, 1.0, 10.0, 100.0], ["scale", 0.1, 10.0]),
        "danala": _grid(alpha=[10.0, 1.0, 0.01], hidden_layer_sizes=[(32,), (64, 16)]),
        "intensity": _grid(C=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]),
    },
    "quick": {
        "lasso": _grid(C=[0.1, 1.0, 10.0]),
        "svm": _svm_grid([0.1, 1.0, 10.0], ["scale"]),
        "rf": _grid(n_estimators=[100], min_samples_leaf=[3, 1], max_features=["sqrt"]),
        "mateos": _svm_grid([0.1, 1.0, 10.0], ["scale"]),
        "danala": _grid(alpha=[1.0, 0.01], hidden_layer_sizes=[(32,)]),
        "intensity": _grid(C=[0.1, 1.0, 10.0]),
    },
}
# "scale" for gamma is sklearn's 1 / (n_features * var(X)); numeric gammas are multiples of it
# (resolved in make_pipeline) so the same grid suits 34 and 1224 features.


def make_pipeline(name: str, params: dict, seed: int = 0) -> Pipeline:
    """The pipeline of model ``name`` with hyper-parameters ``params``."""
    params = dict(params)
    if name in ("lasso", CONTROL):
        clf = LogisticRegression(l1_ratio=1.0, solver="liblinear", max_iter=10000, random_state=seed, **params)
    elif name in ("svm", "mateos"):
        gamma = params.pop("gamma", "scale")
        clf = _RelativeGammaSVC(gamma_factor=gamma, **params)
    elif name == "rf":
        clf = RandomForestClassifier(random_state=seed, n_jobs=1, **params)
    elif name == "danala":
        clf = MLPClassifier(solver="lbfgs", max_iter=300, random_state=seed, **params)
    else:
        raise ValueError(f"unknown model {name!r}; one of {', '.join((*MODELS, CONTROL))}")
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("scale", StandardScaler()), ("clf", clf)])


class _RelativeGammaSVC(SVC):
    """SVC whose RBF ``gamma`` is given as a multiple of sklearn's ``"scale"`` (1 / (n_features var X))."""

    def __init__(self, gamma_factor="scale", C=1.0, kernel="rbf"):
        self.gamma_factor = gamma_factor
        super().__init__(C=C, kernel=kernel, gamma="scale")

    def fit(self, X, y, sample_weight=None):
        if self.gamma_factor != "scale":
            X_arr = np.asarray(X, dtype=float)
            var = X_arr.var()
            self.gamma = float(self.gamma_factor) / (X_arr.shape[1] * var) if var > 0 else 1.0
        else:
            self.gamma = "scale"
        return super().fit(X, y, sample_weight=sample_weight)


def malignant_score(model, X) -> np.ndarray:
    """A score that grows with malignancy: class-1 probability, or the SVM decision value."""
    if hasattr(model, "predict_proba") and not isinstance(model[-1], SVC):
        return model.predict_proba(X)[:, 1]
    return model.decision_function(X)


def decision_threshold(model) -> float:
    """The score at which ``model`` calls a case malignant: 0 for the SVM's decision value,
    0.5 for a class probability (the same call as ``model.predict``)."""
    return 0.0 if isinstance(model[-1], SVC) else 0.5


def encode_labels(labels) -> np.ndarray:
    """``"benign"``/``"malignant"`` -> 0/1 (malignant is the positive class)."""
    labels = pd.Series(labels).astype(str)
    bad = labels[~labels.isin(LABELS)]
    if len(bad):
        raise ValueError(f"label {bad.iloc[0]!r} is not one of {', '.join(LABELS)}")
    return (labels == LABELS[1]).to_numpy().astype(int)


def binary_metrics(y_true, y_pred, score=None) -> dict:
    """Accuracy, sensitivity, specificity, ROC AUC (when both classes and a score are given) and
    counts, flat: :func:`d2tl.stats.evaluate.call_metrics` (undefined metrics are None)."""
    from ..stats.evaluate import call_metrics

    m = call_metrics(y_true, y_pred, score)
    return {**{k: m[k] for k in ("accuracy", "sensitivity", "specificity", "auc")}, **m["confusion_matrix"],
            "n": m["n"]}


@dataclasses.dataclass
class FitResult:
    """A model chosen on validation and refitted, with its selection table and test metrics."""

    name: str
    params: dict
    model: Pipeline
    selection: pd.DataFrame  # one row per grid point: params, val accuracy, val AUC, chosen
    val: dict
    test: dict
    test_scores: pd.Series  # malignancy score per test case
    test_pred: pd.Series  # 0/1 per test case
    seconds: float
    n_features: int

    @property
    def held_out_val(self) -> dict:
        """Validation accuracy and AUC of the chosen setting fitted on the training cases only:
        held out whatever ``refit`` (with ``train+val`` the refitted model has seen them)."""
        row = self.selection.loc[self.selection["chosen"]].iloc[0]
        return {"accuracy": float(row["val_accuracy"]), "auc": float(row["val_auc"])}


def select_and_fit(name: str, X: pd.DataFrame, y, parts: pd.Series, grid: list[dict], seed: int = 0,
                   refit: str = "train") -> FitResult:
    """Choose ``name``'s hyper-parameters on the validation cases, refit, and evaluate on test.

    ``X`` rows and ``y`` and ``parts`` ("train"/"val"/"test") are aligned by position.
    """
    if refit not in ("train", "train+val"):
        raise ValueError(f"refit must be 'train' or 'train+val', got {refit!r}")
    if not grid:
        raise ValueError(f"empty hyper-parameter grid for {name}")
    start = time.perf_counter()
    y = np.asarray(y).astype(int)
    parts = np.asarray(parts)
    X = X.to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
    tr, va, te = (parts == "train"), (parts == "val"), (parts == "test")
    for part, sel in (("train", tr), ("val", va)):
        if len(np.unique(y[sel])) < 2:
            raise ValueError(f"the {part} part needs cases of both classes to fit {name}")
    rows = []
    # one BLAS thread: these matrices are tiny, and threads only contend (10-30x slower on a busy machine)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, params in enumerate(grid):
            model = make_pipeline(name, params, seed).fit(X[tr], y[tr])
            m = binary_metrics(y[va], model.predict(X[va]), malignant_score(model, X[va]))
            rows.append({"order": k, "params": params, "val_accuracy": m["accuracy"], "val_auc": m["auc"]})
        selection = pd.DataFrame(rows)
        ranked = selection.assign(_auc=selection["val_auc"].fillna(-1)).sort_values(
            ["val_accuracy", "_auc", "order"], ascending=[False, False, True], kind="stable")
        best = int(ranked.index[0])
        params = grid[best]
        fit_on = tr | va if refit == "train+val" else tr
        model = make_pipeline(name, params, seed).fit(X[fit_on], y[fit_on])
        val = binary_metrics(y[va], model.predict(X[va]), malignant_score(model, X[va]))
        scores = malignant_score(model, X[te]) if te.any() else np.array([])
        pred = model.predict(X[te]) if te.any() else np.array([], dtype=int)
    selection["chosen"] = selection.index == best
    selection["params"] = selection["params"].map(_params_text)
    test = binary_metrics(y[te], pred, scores)
    index = np.flatnonzero(te)
    return FitResult(name=name, params=params, model=model, selection=selection, val=val, test=test,
                     test_scores=pd.Series(scores, index=index), test_pred=pd.Series(pred, index=index),
                     seconds=time.perf_counter() - start, n_features=X.shape[1])


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
