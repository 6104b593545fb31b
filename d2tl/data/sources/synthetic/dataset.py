"""Writing the set: each case's DICOM files and mask PNGs, the case table and ``dataset.json``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .... import __version__
from ....io.atomic import atomic_path
from ....io.errors import DataError
from ....protocol.views import VIEWS
from .config import (FULL_COLS, FULL_ROWS, FULL_SPACING_MM, GENERATOR, GENERATOR_VERSION, SynthConfig,
                     VIEW_CODES)
from .physics import ENHANCEMENT_MEDIAN
from .render import generate_case


def _write_case(config: SynthConfig, index: int, folder: str) -> dict:
    """Generate case ``index`` and write its files under ``folder``; return its case-table row."""
    from PIL import Image
    from pydicom.uid import generate_uid

    from .dicom_files import write_case_images

    folder = Path(folder)
    case = generate_case(config, index)
    cid, lat = case["id"], case["laterality"]
    image_dir = folder / "images" / cid
    image_dir.mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    study_uid = generate_uid(entropy_srcs=[GENERATOR, str(config.seed), cid])
    row = {"id": cid, "group": cid, "label": case["label"], "laterality": lat, "scale": config.scale}
    row.update(write_case_images(case, image_dir, pixel_mm=config.pixel_mm, bits_stored=config.bits_stored,
                                 study_uid=study_uid, write_he=config.write_he))
    for view in VIEWS:
        code = VIEW_CODES[view]
        mask_path = folder / "masks" / f"{cid}_{code}.png"
        Image.fromarray((case["masks"][view] * 255).astype(np.uint8)).save(mask_path)
        row[f"{view}_mask_path"] = str(mask_path)
        row[f"{view}_x"], row[f"{view}_y"] = (round(c, 2) for c in case["boxes"][view])
        row[f"{view}_rec_weight"] = round(case["weights"][view], 6)
    return {"row": row, "truth": case["truth"]}


def write_dataset(config: SynthConfig, out_dir, overwrite: bool = False, workers: int = 1,
                  progress=None) -> Path:
    """Write the data set to ``out_dir`` (atomically) and return the path of its ``cases.csv``.

    Refuses to replace an existing non-empty folder unless ``overwrite``. ``workers`` > 1
    generates cases in parallel processes (the result does not depend on it).
    """
    import pandas as pd

    from ...cases import write_cases

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"output {out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DataError(f"output folder {out_dir} exists and is not empty; "
                        f"choose another folder or allow overwriting (--overwrite)")
    start = time.perf_counter()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        results = _write_cases(config, tmp, workers, progress)
        write_cases(pd.DataFrame([r["row"] for r in results]), tmp / "cases.csv")
        meta = _metadata(config, out_dir.name, results, round(time.perf_counter() - start, 2))
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out_dir / "cases.csv"


def _write_cases(config: SynthConfig, tmp: Path, workers: int, progress=None) -> list[dict]:
    """Every case written under ``tmp``, in order: their case-table rows and truths."""
    results = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_write_case, config, i, str(tmp)) for i in range(config.n_cases)]
            for i, future in enumerate(futures):
                results.append(future.result())
                if progress:
                    progress(i + 1, config.n_cases)
    else:
        for i in range(config.n_cases):
            results.append(_write_case(config, i, str(tmp)))
            if progress:
                progress(i + 1, config.n_cases)
    return results


def _metadata(config: SynthConfig, name: str, results: list[dict], seconds: float) -> dict:
    """``dataset.json``: generator, configuration, conventions, the oracle and every case's truth."""
    from ...oracle import oracle_block

    return {
        "name": name,
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "d2tl_version": __version__,
        "seed": config.seed,
        "config": config.to_dict(),
        "image_shape": list(config.image_shape),
        "pixel_spacing_mm": config.pixel_mm,
        "full_resolution": {"rows": FULL_ROWS, "cols": FULL_COLS, "pixel_spacing_mm": FULL_SPACING_MM},
        "conventions": {
            "le_he_values": "inverse transmission N0/N (ln = projected attenuation; larger = denser)",
            "recombined": "ln(HE) - w ln(LE), w per view in cases",
            "orientation": "L: chest wall at column 0; R: stored mirrored",
            "box_centre": f"lesion centroid + N(0, {config.placement_jitter}) full-resolution px per axis",
            "size": "long side of the CC lesion body's enclosing rectangle, full-resolution px",
        },
        "generation_seconds": seconds,
        # the best any reader could do on these cases: majority vote and Bayes rule (d2tl.data.oracle)
        "oracle": oracle_block([r["truth"] for r in results], config.difficulty,
                               config.malignant_fraction, ENHANCEMENT_MEDIAN),
        "cases": [r["truth"] for r in results],
    }
