"""A figure of chosen cases: one row per case, its four images with the ROI box drawn.

Panels follow :data:`d2tl.protocol.views.IMAGES` (LE-CC, LE-MLO, recombined-CC, recombined-MLO), after
the reader's mirroring (:func:`d2tl.data.images.load_view`), so every chest wall is on the left.
The green square is the uni-size box of the paper (``box`` full-resolution px, ``box * scale``
image px) centred on the case table's box centre; where the case table has lesion masks, their
outline is drawn in red (as the paper's Fig. 6 does with the radiologist's segmentation).

Each image is shown with its own grey window, computed from its pixels above an Otsu threshold
(the breast), as a reading workstation would; the same code shows real and synthetic images
sensibly (see :func:`display_window`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..io.errors import DataError
from ..protocol.paper import DEFAULT_BOX
from ..protocol.views import IMAGES, VIEWS, image_title, split_key

COMMAND_HELP = "draw the four images of chosen cases with their ROI boxes"
DEFAULT_OUT = "results/figures/synthetic_cases.png"
# grey window per mode, from percentiles of the breast's pixels. LE: (lo, hi) percentiles.
# Recombined: the background is flat and the lesion stands out of it, so the window is set
# around the breast's median m: [m - 0.6 s, m + s] with s = (99.9th percentile) - m, which puts
# the background at about 40 % grey and the brightest enhancement at white (s is at least
# 10 % of the breast-vs-air step, so a breast without enhancement does not show amplified noise).
LE_PERCENTILES = (0.5, 99.8)
REC_TOP_PERCENTILE = 99.9
REC_BELOW = 0.6
REC_MIN_SPREAD = 0.1


def default_ids(table) -> list[str]:
    """The first benign and the first malignant case of the table, in table order."""
    ids = []
    for label in ("benign", "malignant"):
        match = table.index[table["label"] == label]
        if len(match):
            ids.append(str(table.loc[match[0], "id"]))
    return ids


def display_window(image: np.ndarray, mode: str) -> tuple[float, float]:
    """(vmin, vmax) for showing ``image``: percentiles of its foreground (Otsu)."""
    from skimage.filters import threshold_otsu

    finite = image[np.isfinite(image)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return 0.0, 1.0
    try:
        foreground = finite[finite > threshold_otsu(finite)]
    except ValueError:
        foreground = finite
    if foreground.size < 16:
        foreground = finite
    if mode == "rec":
        m, top = np.percentile(foreground, [50.0, REC_TOP_PERCENTILE])
        # without any enhancement the spread would be noise: at least 10 % of breast-vs-air
        spread = max(float(top - m), REC_MIN_SPREAD * float(m - np.percentile(finite, 1.0)), 1e-6)
        return float(m - REC_BELOW * spread), float(m + spread)
    lo, hi = np.percentile(foreground, LE_PERCENTILES)
    lo = min(lo, float(np.percentile(finite, 1.0)))  # keep the air dark, show the skin line
    return float(lo), float(hi) if hi > lo else float(lo) + 1.0


def draw_cases(table, ids=None, box: float = DEFAULT_BOX, out=DEFAULT_OUT, show_masks: bool = True,
               dpi: int = 110) -> Path:
    """Write the figure of cases ``ids`` (default: :func:`default_ids`) to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .images import load_view

    ids = list(ids) if ids else default_ids(table)
    if not ids:
        raise DataError("no cases to draw: the case table is empty")
    known = list(table["id"].astype(str))
    rows = []
    for cid in ids:
        if cid not in known:
            raise DataError(f"patient {cid} is not in the case table (ids: {', '.join(known[:8])}"
                            f"{', ...' if len(known) > 8 else ''})")
        rows.append(table.iloc[known.index(cid)])
    if box <= 0:
        raise DataError(f"box must be positive, got {box}")

    fig, axes = plt.subplots(len(rows), len(IMAGES), figsize=(3.1 * len(IMAGES), 3.9 * len(rows) + 0.3),
                             squeeze=False, layout="constrained")
    for r, row in enumerate(rows):
        views = {view: load_view(row, view, with_mask=show_masks) for view in VIEWS}
        for c, key in enumerate(IMAGES):
            mode, view = split_key(key)
            images = views[view]
            image = images.image(mode)
            vmin, vmax = display_window(image, mode)
            ax = axes[r, c]
            ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="antialiased")
            side = box * images.scale
            x, y = images.centre
            ax.add_patch(Rectangle((x - side / 2, y - side / 2), side, side, fill=False,
                                   edgecolor="#39ff14", linewidth=1.0))
            if images.mask is not None and images.mask.any():
                ax.contour(images.mask, levels=[0.5], colors="red", linewidths=0.6)
            ax.set_title(image_title(key), fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"{row['id']} ({row['label']}, {row['laterality']})", fontsize=10)
    fig.suptitle(f"box {box:g} full-resolution px (green); lesion mask outline (red)" if show_masks
                 else f"box {box:g} full-resolution px (green)", fontsize=10)
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return out


def add_arguments(parser) -> None:
    from ..protocol.options import add_cases, add_out

    add_cases(parser)
    parser.add_argument("--ids", nargs="+", default=None,
                        help="case ids, one row each (default: the first benign and the first malignant)")
    parser.add_argument("--box", type=float, default=DEFAULT_BOX,
                        help="box side in full-resolution px (default: %(default)s)")
    add_out(parser, "show-cases")  # the PNG file
    parser.add_argument("--no-masks", action="store_true", help="do not outline the lesion masks")
    parser.add_argument("--dpi", type=int, default=110, help="resolution (default: %(default)s)")


def run(args) -> int:
    from .cases import load_cases

    from ..io import checks

    checks.number("--box", args.box, low=1, high=checks.MAX_BOX, why="full-resolution px")
    checks.count("--dpi", args.dpi, low=10, high=1200)
    checks.input_file("--cases", args.cases, "case table")
    checks.output_file("--out", args.out, "figure")
    table = load_cases(args.cases)
    ids = [i for arg in args.ids for i in arg.split(",") if i] if args.ids else None
    out = draw_cases(table, ids, box=args.box, out=args.out, show_masks=not args.no_masks, dpi=args.dpi)
    print(f"wrote {out}")
    return 0
