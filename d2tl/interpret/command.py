"""``python -m d2tl explain``: pixel influence (eq. 2) and Grad-CAM overlays of one case.

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

from ..io.atomic import atomic_path
from ..io.provenance import dataset_info, provenance, write_json
from ..protocol.views import IMAGES
from .explanation import explain
from .figures import write_case_figures
from .gradcam import GRADCAM_LAYER
from .inputs import case_inputs, roi_config_for, rows_by_id
from .lesion_check import pooled_share


def _case_json(expl, i: int) -> dict:
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


def explain_case(model_path, cases_csv, case_id, out=None, layers=(GRADCAM_LAYER,), dpi: int = 110) -> dict:
    """Figures, maps and a JSON record for one case; returns the record (with the paths)."""
    from ..data.cases import load_cases
    from ..training.predict import load_trained

    start = time.perf_counter()
    table = load_cases(cases_csv)
    row = rows_by_id(table, [case_id])[0]
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


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="model.keras written by python -m d2tl train")
    from ..protocol.options import add_cases, add_out

    add_cases(parser)  # the table holding the case
    parser.add_argument("--id", required=True, help="case id")
    add_out(parser, "explain")
    parser.add_argument("--gradcam-layers", nargs="+", default=[GRADCAM_LAYER],
                        help=f"backbone layers for Grad-CAM (default {GRADCAM_LAYER}, the last block; mixed7 is finer)")
    parser.add_argument("--dpi", type=int, default=110)


def run(args) -> int:
    from ..io import checks

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
