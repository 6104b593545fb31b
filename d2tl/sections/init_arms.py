"""The arms of the random-init section (Sec. 4.4): ImageNet, formula-pre-trained, random.

Each arm is the default configuration (full-tune, ``random_init_epochs``) started from other
weights. The default weights give one arm as they are; the others are added when they exist here:

- ImageNet: only as the default weights (``imagenet``, or ``auto`` where the file is there);
  never fetched for this section alone. Offline it is absent, and the report says so.
- formula-pre-trained: ``--weights fractal``, when ``python -m d2tl pretrain`` has made the file of
  the default recipe (:mod:`d2tl.pretrain.store`); else absent, with the command that makes it
  (an hour of pre-training never starts as a side effect, and the section runs without it).
- random: always.

So offline, with the file made, the comparison is formula-pre-trained vs random.
"""

from __future__ import annotations

LABELS = {"imagenet": "ImageNet", "fractal": "formula-pre-trained (FractalDB)", "random": "random",
          "file": "weights file"}


def _default(ctx):
    return ctx.base().replace(train={"epochs": ctx.settings["random_init_epochs"]})


def _kind(ctx, spec: str) -> str:
    return "imagenet" if spec == "imagenet" else ctx.weights(spec).kind


def plan(ctx) -> list:
    """The arms that can be trained here, the default weights' first (:class:`d2tl.sections.planned.Planned`)."""
    from ..pretrain import store as pretrain_store
    from .planned import Planned

    default = _default(ctx)
    kind = _kind(ctx, default.model.weights)
    arms = [Planned(f"{LABELS[kind]} (default weights)", default, {"initialisation": kind})]
    if kind != "fractal" and pretrain_store.finished(pretrain_store.spec_recipe("fractal")) is not None:
        fractal = default.replace(model={"weights": "fractal"})
        arms.append(Planned(LABELS["fractal"], fractal, {"initialisation": "fractal"},
                            note=f"backbones pre-trained on formula-generated images, "
                                 f"{ctx.weights('fractal').note}"))
    if kind != "random":
        arms.append(Planned(LABELS["random"], default.replace(model={"weights": "random"}),
                            {"initialisation": "random"}))
    return arms


def absent(ctx) -> list[str]:
    """One line per arm that cannot be trained here, saying why and how to add it."""
    from ..pretrain import store as pretrain_store
    from ..model.weights import imagenet_target

    spec = _default(ctx).model.weights
    kind = _kind(ctx, spec)
    lines = []
    if kind != "imagenet":
        why = (f"ImageNet weights are unavailable on this machine (Keras's file is not at {imagenet_target()})"
               if spec == "auto" else f"the default weights are {spec!r}, not ImageNet")
        lines.append(f"ImageNet arm: absent: {why}; it is trained when the default weights are ImageNet.")
    recipe = pretrain_store.spec_recipe("fractal")
    if kind != "fractal" and pretrain_store.finished(recipe) is None:
        lines.append(f"formula-pre-trained arm: not available: no pre-trained file for {recipe.describe()} in "
                     f"{pretrain_store.folder(recipe)}; make it with `{recipe.command()}` (about an hour on a "
                     "2-core CPU), then run this section again.")
    if len(plan(ctx)) < 2:
        lines.append("Only one initialisation can be trained here: the comparison is void on this machine.")
    return lines
