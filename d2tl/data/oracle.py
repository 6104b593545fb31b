"""Oracle figures of the synthetic data set: how well any reader of the lesions could do.

The generator (:mod:`d2tl.data.sources.synthetic`) draws, per case, a "presented" class for each of four
class features; each is the other class with probability ``q = difficulty / 2``, independently.
Three of them are shown exactly by the lesion: shape (oval/round vs irregular/spiculated),
margin (circumscribed vs indistinct) and enhancement pattern (homogeneous vs rim/heterogeneous).
The fourth, enhancement strength, is shown only through the iodine concentration ``c``, which is
log-normal with the presented class's median and log-SD (benign 0.75 mg/ml, 0.35; malignant
1.6 mg/ml, 0.30). Nothing else in a case depends on the label. Two oracles follow.

Majority vote (reads the four presented classes, i.e. what the generator intended)
    Call a case malignant when most of its four presented classes are malignant; a 2-2 tie is
    broken at random (seeded, :data:`TIE_SEED`). Its expected accuracy is
    ``P(>= 3 typical) + P(2 typical) / 2 = p^4 + 4 p^3 q + 3 p^2 q^2 = p^3 + 3 p^2 q`` with
    ``p = 1 - q``: 0.84375 at difficulty 0.5 and 0.95703125 at 0.25. Its score for the AUC is the
    number of malignant-presented features (ties count 1/2).

Bayes-optimal rule (reads what the images show: three classes and the concentration)
    With prior ``pi`` (the malignant fraction) the posterior log-odds are, in closed form,
    ``L = log(pi / (1 - pi)) + (2 k - 3) a + h(c)``, with ``k`` the number of malignant-presented
    discrete features, ``a = log(p / q)`` and ``h(c) = log(((p f_m + q f_b) / (q f_m + p f_b))(c))``,
    ``f_m``, ``f_b`` the two log-normal densities. The rule calls a case malignant when
    ``L > 0``. It is the best accuracy any classifier of these cases can reach, and its posterior
    the best ranking (AUC). Expected values are integrated numerically over ``log c`` (a fine
    grid, exact sums over ``k``); :func:`monte_carlo` samples the same model without images for
    a check.

    Because ``|h| < a`` always, the concentration never overturns a 2-1 vote of the discrete
    features when ``pi = 1/2``: the Bayes rule's expected *accuracy* equals the majority vote's
    (the majority of three equals the majority of four with random ties, ``p^2 (p + 3 q)``).
    Its *AUC* is a little lower than the vote count's (0.993 vs 0.994 at difficulty 0.25): the
    vote reads the enhancement's presented class, which no image shows, so the Bayes rule, not
    the vote, is the ceiling for a classifier of the images. On a given data set either may
    come out ahead by chance.

Enhancement-strength-only Bayes rule
    The same posterior from ``c`` alone (``L = log(pi / (1 - pi)) + h(c)``): the most any reader
    of the enhancement strength alone can reach (about 69 % accuracy at difficulty 0.5, 78 % at
    0.25), the reference for the baseline's intensity-only control.

Each figure is given as its expected value under the generative model and as the empirical
value on a data set's cases (from ``dataset.json``'s per-case truth), with the number of cases.
:func:`oracle_block` is what :func:`d2tl.data.sources.synthetic.write_dataset` stores under
``"oracle"``; :func:`oracle_summary` computes it for any existing data set folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

ORACLE_VERSION = 1
FEATURES = ("shape", "margin", "enhancement_strength", "enhancement_pattern")  # as in synthetic.FEATURES
DISCRETE = ("shape", "margin", "enhancement_pattern")  # shown exactly by the lesion
MALIGNANT_VALUES = {"shape": ("irregular", "spiculated"), "margin": ("indistinct",),
                    "enhancement_pattern": ("rim", "heterogeneous")}
TIE_SEED = 0
# The generator's enhancement model (d2tl.data.sources.synthetic.lesion._draw_features); tests check they agree.
MEDIAN_MG_ML = {"benign": 0.75, "malignant": 1.6}
LOG_SD = {"benign": 0.35, "malignant": 0.30}
_GRID = np.linspace(-6.0, 6.0, 24001)  # log c for the numerical integrals (step 5e-4)


@dataclasses.dataclass(frozen=True)
class OracleModel:
    """The part of the generative model that carries the class signal."""

    difficulty: float
    malignant_fraction: float = 0.5
    median_mg_ml: tuple[float, float] = (MEDIAN_MG_ML["benign"], MEDIAN_MG_ML["malignant"])
    log_sd: tuple[float, float] = (LOG_SD["benign"], LOG_SD["malignant"])

    def __post_init__(self):
        if not 0 <= self.difficulty <= 1:
            raise ValueError(f"difficulty must be in [0, 1], got {self.difficulty}")
        if not 0 < self.malignant_fraction < 1:
            raise ValueError(f"malignant_fraction must be in (0, 1), got {self.malignant_fraction}")

    @property
    def q(self) -> float:
        """Probability that a feature presents the other class."""
        return self.difficulty / 2

    def _a(self) -> float:
        q = min(max(self.q, 1e-15), 0.5)
        return float(np.log((1 - q) / q))

    def _prior(self) -> float:
        pi = self.malignant_fraction
        return float(np.log(pi / (1 - pi)))

    def concentration_log_odds(self, log_c) -> np.ndarray:
        """``h(c)``: the log likelihood ratio, malignant vs benign, of the concentration."""
        q = min(max(self.q, 1e-15), 0.5)
        x = np.asarray(log_c, dtype=float)
        lb = stats.norm.logpdf(x, np.log(self.median_mg_ml[0]), self.log_sd[0])
        lm = stats.norm.logpdf(x, np.log(self.median_mg_ml[1]), self.log_sd[1])
        num = np.logaddexp(np.log1p(-q) + lm, np.log(q) + lb)
        den = np.logaddexp(np.log(q) + lm, np.log1p(-q) + lb)
        return num - den

    def log_odds(self, n_malignant_discrete, concentration_mg_ml, use_discrete: bool = True) -> np.ndarray:
        """Posterior log-odds of malignancy (module docstring) per case."""
        h = self.concentration_log_odds(np.log(np.asarray(concentration_mg_ml, dtype=float)))
        k = np.asarray(n_malignant_discrete, dtype=float)
        return self._prior() + h + ((2 * k - len(DISCRETE)) * self._a() if use_discrete else 0.0)

    def posterior(self, n_malignant_discrete, concentration_mg_ml, use_discrete: bool = True) -> np.ndarray:
        """P(malignant | observed features) per case."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(n_malignant_discrete, concentration_mg_ml, use_discrete)))


# --- expected values ----------------------------------------------------------------------------

def _auc_of(pos_scores, pos_w, neg_scores, neg_w) -> float:
    """P(S+ > S-) + P(S+ = S-)/2 for two weighted discrete score distributions."""
    neg_scores, neg_w = np.asarray(neg_scores, float), np.asarray(neg_w, float)
    order = np.argsort(neg_scores, kind="stable")
    s, w = neg_scores[order], neg_w[order]
    cum = np.concatenate([[0.0], np.cumsum(w)])
    below = cum[np.searchsorted(s, pos_scores, side="left")]
    equal = cum[np.searchsorted(s, pos_scores, side="right")] - below
    return float(np.sum(np.asarray(pos_w) * (below + 0.5 * equal)) / (np.sum(pos_w) * cum[-1]))


def expected_majority(difficulty: float) -> dict:
    """Expected accuracy (ties at random) and AUC (vote count) of the four-feature majority vote."""
    q = difficulty / 2
    p = 1 - q
    n = len(FEATURES)
    votes = np.arange(n + 1)
    pm = stats.binom.pmf(votes, n, p)  # malignant case: malignant-presented count
    pb = stats.binom.pmf(votes, n, q)  # benign case
    right_m = pm[votes > n / 2].sum() + 0.5 * pm[votes == n / 2].sum()
    right_b = pb[votes < n / 2].sum() + 0.5 * pb[votes == n / 2].sum()
    return {"accuracy": float((right_m + right_b) / 2), "auc": _auc_of(votes, pm, votes, pb)}


def _weighted_scores(model: OracleModel, label: str, use_discrete: bool):
    """Posterior log-odds on the (k, log c) grid with their probabilities, for one class."""
    q = model.q
    p = 1 - q
    x = _GRID
    dx = x[1] - x[0]
    dens = {cls: stats.norm.pdf(x, np.log(model.median_mg_ml[i]), model.log_sd[i]) * dx
            for i, cls in enumerate(("benign", "malignant"))}
    own, opp = (dens["malignant"], dens["benign"]) if label == "malignant" else (dens["benign"], dens["malignant"])
    conc_w = p * own + q * opp
    h = model.concentration_log_odds(x)
    if not use_discrete:
        return model._prior() + h, conc_w
    scores, weights = [], []
    nd = len(DISCRETE)
    for k in range(nd + 1):  # k = malignant-presented discrete features
        pk = stats.binom.pmf(k, nd, p if label == "malignant" else q)
        scores.append(model._prior() + (2 * k - nd) * model._a() + h)
        weights.append(pk * conc_w)
    return np.concatenate(scores), np.concatenate(weights)


def expected_bayes(model: OracleModel, use_discrete: bool = True) -> dict:
    """Expected accuracy and AUC of the Bayes rule (``use_discrete=False``: concentration only)."""
    sm, wm = _weighted_scores(model, "malignant", use_discrete)
    sb, wb = _weighted_scores(model, "benign", use_discrete)
    pi = model.malignant_fraction

    def right(scores, w, sign):
        return (w * ((sign * scores > 0) + 0.5 * (scores == 0))).sum() / w.sum()

    return {"accuracy": float(pi * right(sm, wm, 1) + (1 - pi) * right(sb, wb, -1)),
            "auc": _auc_of(sm, wm, sb, wb)}


def monte_carlo(model: OracleModel, n: int = 200_000, seed: int = 0) -> dict:
    """Sample the class signal of ``n`` cases (no images): labels (1 = malignant), presented
    classes (n x 4, 1 = malignant, in :data:`FEATURES` order) and concentrations."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < model.malignant_fraction).astype(int)
    flips = rng.random((n, len(FEATURES))) < model.q
    presented = np.where(flips, 1 - y[:, None], y[:, None])
    mal_enh = presented[:, FEATURES.index("enhancement_strength")] == 1
    log_c = np.where(mal_enh, rng.normal(np.log(model.median_mg_ml[1]), model.log_sd[1], n),
                     rng.normal(np.log(model.median_mg_ml[0]), model.log_sd[0], n))
    return {"label": y, "presented": presented, "concentration_mg_ml": np.exp(log_c)}


# --- one data set -------------------------------------------------------------------------------

def _case_arrays(cases: list[dict]):
    """Labels, presented classes (n x 4) and concentrations from dataset.json's per-case truth."""
    y = np.array([c["label"] == "malignant" for c in cases], dtype=int)
    presented = np.array([[c["presented_class"][f] == "malignant" for f in FEATURES] for c in cases], dtype=int)
    conc = np.array([float(c["enhancement_mg_ml"]) for c in cases], dtype=float)
    for f in DISCRETE:  # the observable value must agree with the presented class
        shown = np.array([c[f] in MALIGNANT_VALUES[f] for c in cases], dtype=int)
        if not np.array_equal(shown, presented[:, FEATURES.index(f)]):
            raise ValueError(f"dataset.json: the {f} of some cases disagrees with their presented class")
    return y, presented, conc


def _scored(y, score, call) -> dict:
    both = 0 < y.sum() < len(y)
    return {"accuracy": float(np.mean(call == y)) if len(y) else None,
            "auc": float(roc_auc_score(y, score)) if both else None}


def empirical_majority(cases: list[dict], seed: int = TIE_SEED) -> dict:
    """The majority vote on a data set's cases: accuracy with seeded random ties, its
    expectation over the ties, and the AUC of the vote count."""
    y, presented, _ = _case_arrays(cases)
    votes = presented.sum(axis=1)
    n = presented.shape[1]
    tie = votes * 2 == n
    coin = np.random.default_rng(seed).random(len(y)) < 0.5
    call = np.where(tie, coin, votes * 2 > n).astype(int)
    out = _scored(y, votes, call)
    right = np.where(tie, 0.5, (votes * 2 > n).astype(int) == y)
    out["accuracy_ties_expected"] = float(np.mean(right)) if len(y) else None
    out["ties"] = int(tie.sum())
    return out


def empirical_bayes(model: OracleModel, cases: list[dict], use_discrete: bool = True,
                    seed: int = TIE_SEED) -> dict:
    """The Bayes rule's accuracy and AUC on a data set's cases (posterior from their truth)."""
    y, presented, conc = _case_arrays(cases)
    k = presented[:, [FEATURES.index(f) for f in DISCRETE]].sum(axis=1)
    lo = model.log_odds(k, conc, use_discrete)
    coin = np.random.default_rng(seed).random(len(y)) < 0.5
    call = np.where(lo == 0, coin, lo > 0).astype(int)
    return _scored(y, lo, call)


def oracle_block(cases: list[dict], difficulty: float, malignant_fraction: float = 0.5,
                 median_mg_ml: dict | None = None, log_sd: dict | None = None) -> dict:
    """The ``"oracle"`` block of ``dataset.json`` (module docstring): expected and empirical
    accuracy and AUC of the majority vote, the Bayes rule and the concentration-only Bayes rule."""
    median_mg_ml = median_mg_ml or MEDIAN_MG_ML
    log_sd = log_sd or LOG_SD
    pi = min(max(float(malignant_fraction), 1e-6), 1 - 1e-6)
    model = OracleModel(difficulty=float(difficulty), malignant_fraction=pi,
                        median_mg_ml=(median_mg_ml["benign"], median_mg_ml["malignant"]),
                        log_sd=(log_sd["benign"], log_sd["malignant"]))
    return {
        "version": ORACLE_VERSION,
        "model": {"difficulty": model.difficulty, "flip_probability": model.q, "malignant_fraction": pi,
                  "median_mg_ml": dict(median_mg_ml), "log_sd": dict(log_sd)},
        "n_cases": len(cases),
        "majority_vote": {
            "reads": "the four presented classes (ties at random, seed %d)" % TIE_SEED,
            "expected": expected_majority(model.difficulty), "empirical": empirical_majority(cases)},
        "bayes": {
            "reads": "shape, margin and enhancement-pattern classes and the iodine concentration",
            "expected": expected_bayes(model), "empirical": empirical_bayes(model, cases)},
        "enhancement_only_bayes": {
            "reads": "the iodine concentration alone",
            "expected": expected_bayes(model, use_discrete=False),
            "empirical": empirical_bayes(model, cases, use_discrete=False)},
        "note": "expected = under the generative model (numerical integration); empirical = on these cases. "
                "See d2tl.data.oracle.",
    }


def oracle_summary(dataset_json_path) -> dict:
    """The oracle block for an existing data set (a ``dataset.json`` or the folder holding it),
    computed from its per-case truth, so folders written before the block existed work too."""
    path = Path(dataset_json_path)
    if path.is_dir():
        path = path / "dataset.json"
    meta = json.loads(path.read_text())
    config = meta.get("config") or {}
    if "difficulty" not in config or not meta.get("cases"):
        raise ValueError(f"{path}: not a synthetic data set description (no config.difficulty or cases)")
    block = oracle_block(meta["cases"], config["difficulty"], config.get("malignant_fraction", 0.5),
                         (meta.get("oracle") or {}).get("model", {}).get("median_mg_ml"),
                         (meta.get("oracle") or {}).get("model", {}).get("log_sd"))
    block["dataset"] = {"name": meta.get("name", path.parent.name), "path": str(path),
                        "seed": meta.get("seed"), "generator_version": meta.get("generator_version")}
    return block


def oracle_text(block: dict) -> str:
    """One line for reports: the oracle figures as percentages and AUCs."""
    def fmt(part):
        e, m = block[part]["expected"], block[part]["empirical"]
        text = f"{100 * e['accuracy']:.1f}% (AUC {e['auc']:.3f})"
        if m["accuracy"] is not None:
            text += f", here {100 * m['accuracy']:.1f}%" + ("" if m["auc"] is None else f" (AUC {m['auc']:.3f})")
        return text

    return (f"oracle at difficulty {block['model']['difficulty']:g}, {block['n_cases']} cases: "
            f"majority vote {fmt('majority_vote')}; Bayes rule {fmt('bayes')}; "
            f"enhancement strength alone {fmt('enhancement_only_bayes')}")
