"""The paper's model selection: the best checkpoint by validation accuracy, then loss.

Tie rule: higher validation accuracy, then lower validation loss, then the earlier run, then
the earlier epoch.
"""

from __future__ import annotations


def better(a: dict, b: dict | None) -> bool:
    """Is checkpoint ``a`` better than ``b`` by the selection rule (accuracy, then loss)?

    Run and epoch order break remaining ties, because candidates are visited in that order
    and only a strictly better one replaces the incumbent.
    """
    if b is None:
        return True
    if a["val_accuracy"] != b["val_accuracy"]:
        return a["val_accuracy"] > b["val_accuracy"]
    return a["val_loss"] < b["val_loss"]


def select_best(candidates: list[dict]) -> dict:
    """The best of per-run (or per-epoch) records, visited in run and epoch order."""
    best = None
    for c in sorted(candidates, key=lambda c: (c.get("run", 0), c.get("epoch", 0))):
        if better(c, best):
            best = c
    return best


class EpochRecorder:
    """Per epoch: the history row, one log line, and the weights of the best epoch by
    :func:`better` (kept in memory; they include the BN statistics the epoch was validated with)."""

    def __init__(self, run: int, epochs: int, log=print):
        self.run, self.epochs, self.log = run, epochs, log
        self.rows, self.best, self.weights = [], None, None

    def record(self, model, epoch: int, logs: dict, seconds: dict) -> None:
        row = {"run": self.run, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()},
               "seconds": sum(seconds.values()), **{f"{k}_seconds": v for k, v in seconds.items()}}
        self.rows.append(row)
        candidate = {"epoch": epoch + 1, "val_accuracy": row["val_accuracy"], "val_loss": row["val_loss"]}
        if better(candidate, self.best):
            self.best, self.weights = candidate, model.get_weights()
        bn = f", BN {seconds['bn']:.1f} s" if seconds.get("bn") else ""
        self.log(f"run {self.run} epoch {epoch + 1}/{self.epochs}: loss {row['loss']:.4f} acc {row['accuracy']:.3f} "
                 f"val_loss {row['val_loss']:.4f} val_acc {row['val_accuracy']:.3f} "
                 f"({row['seconds']:.1f} s{bn})")
