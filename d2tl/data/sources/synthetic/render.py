"""One case in memory: both views exposed at low and high energy, recombined, with masks and truth."""

from __future__ import annotations

import math

import numpy as np

from ....errors import D2TLError
from ....views import VIEWS
from ...images import recombine
from .anatomy import _breast_maps, _draw_breasts, _glandular, _vessels
from .config import FEATURES, FULL_SPACING_MM, SynthConfig, _plan, case_id
from .lesion import _Lesion, _draw_features, _render_lesion
from .noise import _smooth_noise
from .physics import (BLOOD_FACTOR, BLOOD_IODINE, MUSCLE_FACTOR, MUSCLE_IODINE, cancelling_weight, effective_energy,
                      he_kvp, le_kvp, mu_fat, mu_gland, mu_iodine)


def _expose(config, energy, A_parts, iodine, n_ref, ref_mask, rng):
    """Inverse transmission N0/N with quantum noise for one exposure at ``energy`` keV."""
    mf, mg = mu_fat(energy), mu_gland(energy)
    A = (mf * A_parts["thick"] + (mg - mf) * (A_parts["gland"] + A_parts["skin"])
         + (MUSCLE_FACTOR * mg - mf) * A_parts["muscle"] + mu_iodine(energy) * iodine)
    mix = mf + (mg - mf) * A_parts["gfrac"]
    A += (A_parts["lesion_factor"] * mg - mix) * A_parts["lesion"]
    A += (BLOOD_FACTOR * mg - mix) * A_parts["vessel"]
    a_ref = float(np.median(A[ref_mask])) if ref_mask.any() else float(A.max())
    n0 = n_ref * math.exp(a_ref) / config.scale ** 2  # AEC: the median path gets n_ref quanta
    counts = n0 * np.exp(-A)
    noisy = counts + np.sqrt(counts) * rng.standard_normal(A.shape, dtype=np.float32)
    return (n0 / np.clip(noisy, 1.0, None)).astype(np.float32)


def generate_case(config: SynthConfig, index: int) -> dict:
    """One case, in memory (no I/O): images, masks and truth, in stored orientation.

    Returns a dict with ``id``, ``label``, ``laterality``, ``images`` (``le_cc``, ``le_mlo``,
    ``rec_cc``, ``rec_mlo``, ``he_cc``, ``he_mlo``: float32 arrays), ``masks`` and ``breasts``
    (per view, bool), ``centres`` (per view, the lesion body's centroid (x, y) in stored image
    px), ``boxes`` (per view, the jittered box centre written to the case table), ``kvp``,
    ``weights`` (per view recombination weight) and ``truth`` (JSON-ready).
    """
    if not 0 <= index < config.n_cases:
        raise D2TLError(f"synthetic data: case index {index} outside 0..{config.n_cases - 1}")
    label, size = _plan(config)[index]
    rng = np.random.default_rng([config.seed, 1, index])
    cid = case_id(index, config.n_cases)
    laterality = "L" if rng.random() < 0.5 else "R"
    density = float(rng.uniform(*config.density_range))
    bpe = float(rng.uniform(*config.bpe_range))
    blood = float(rng.uniform(*BLOOD_IODINE))
    presented, features = _draw_features(rng, label, config.difficulty)

    # breasts and a lesion position that fits both views (grow the breast if it cannot)
    breast_rng_state = rng.bit_generator.state
    grow = 1.0
    for attempt in range(40):
        rng.bit_generator.state = breast_rng_state
        breasts = _draw_breasts(rng, grow)
        lesion = _Lesion(rng, size, features, breasts["cc"].thickness_cm)
        polys = {v: lesion.outline(v, n=180) for v in VIEWS}
        placed = None
        for _ in range(200):
            cc, mlo = breasts["cc"], breasts["mlo"]
            to_nipple = cc.depth * rng.uniform(0.15, 0.85)
            v, w = rng.uniform(-0.8, 0.8, 2)
            x_cc = cc.depth - to_nipple
            y_cc = cc.nipple_y + v * cc.half_height(x_cc, v < 0)
            x_m = mlo.depth - to_nipple
            s_m = float(np.clip(v * np.cos(lesion.angle_mlo) - w * np.sin(lesion.angle_mlo), -0.85, 0.85))
            y_m = mlo.nipple_y + s_m * mlo.half_height(x_m, s_m < 0)
            centres = {"cc": (x_cc, y_cc), "mlo": (x_m, y_m)}
            margin = 3.0 / FULL_SPACING_MM
            if all(breasts[vw].contains(centres[vw][0] + polys[vw][:, 0], centres[vw][1] + polys[vw][:, 1],
                                        margin).all() for vw in VIEWS):
                placed = centres
                break
        if placed is not None:
            break
        grow *= 1.07
    else:
        raise D2TLError(f"synthetic data: patient {cid}: could not fit a {size:.0f} px lesion in the breast")

    rows, cols = config.image_shape
    images, masks, breast_masks, centres_out, boxes, kvps, weights, view_truth = {}, {}, {}, {}, {}, {}, {}, {}
    for view in VIEWS:
        breast = breasts[view]
        inside, thick, skin, muscle, dist_mm, X, Y = _breast_maps(config, breast, rng)
        t_gland, gfrac = _glandular(config, breast, rng, inside, thick, skin, muscle, dist_mm, X, Y, density)
        vessel = _vessels(config, breast, rng, inside)
        mask, chord, spic, io_lesion = _render_lesion(config, lesion, view, placed[view], rng, thick)
        patchy = _smooth_noise(inside.shape, 15.0 / config.pixel_mm, rng)  # BPE varies over ~15 mm
        bpe_map = bpe * t_gland * np.clip(1.0 + 0.5 * patchy, 0.2, 2.0)
        iodine = bpe_map + io_lesion + blood * vessel + MUSCLE_IODINE * muscle
        gf = np.where(thick > 0, t_gland / np.maximum(thick, 1e-6), 0.0)
        parts = {"thick": thick, "gland": t_gland, "skin": skin, "muscle": muscle, "gfrac": gf,
                 "lesion": chord + spic, "vessel": vessel, "lesion_factor": lesion.density_factor}
        kv_le, kv_he = le_kvp(breast.thickness_cm), he_kvp(breast.thickness_cm)
        e_le, e_he = effective_energy(kv_le), effective_energy(kv_he)
        weight = cancelling_weight(e_le, e_he) * (1.0 + rng.normal(0.0, config.cancellation_error))
        ref = inside & (dist_mm > 20.0)
        le = _expose(config, e_le, parts, iodine, config.photons_le, ref, rng)
        he = _expose(config, e_he, parts, iodine, config.photons_he, ref, rng)
        rec = recombine(le, he, weight)
        cx_full, cy_full = placed[view]
        ox, oy = lesion.centroid_offset(view)
        centre = ((cx_full + ox) * config.scale, (cy_full + oy) * config.scale)
        jitter = rng.normal(0.0, config.placement_jitter, 2) * config.scale
        box = (float(np.clip(centre[0] + jitter[0], 0, cols - 1)), float(np.clip(centre[1] + jitter[1], 0, rows - 1)))
        if laterality == "R":
            le, he, rec = le[:, ::-1], he[:, ::-1], rec[:, ::-1]
            mask, inside = mask[:, ::-1], inside[:, ::-1]
            centre = (cols - 1 - centre[0], centre[1])
            box = (cols - 1 - box[0], box[1])
        images[f"le_{view}"] = np.ascontiguousarray(le)
        images[f"he_{view}"] = np.ascontiguousarray(he)
        images[f"rec_{view}"] = np.ascontiguousarray(rec)
        masks[view] = np.ascontiguousarray(mask)
        breast_masks[view] = np.ascontiguousarray(inside)
        centres_out[view] = (float(centre[0]), float(centre[1]))
        boxes[view] = box
        kvps[view] = {"le": kv_le, "he": kv_he}
        weights[view] = float(weight)
        ext = np.ptp(polys[view], axis=0)
        view_truth[view] = {
            "lesion_centre_px": [round(c, 2) for c in centres_out[view]],
            "box_centre_px": [round(c, 2) for c in box],
            "lesion_bbox_full_px": [round(float(ext[0]), 1), round(float(ext[1]), 1)],
            "lesion_pixels": int(mask.sum()),
            "thickness_cm": round(breast.thickness_cm, 2),
            "kvp_le": kv_le, "kvp_he": kv_he,
            "effective_energy_kev": [round(e_le, 2), round(e_he, 2)],
            "rec_weight": round(float(weight), 5),
            "spicules": len(lesion.spicules[view]),
        }
    truth = {
        "id": cid, "label": label, "laterality": laterality,
        "size_full_px": round(size, 1),
        "shape": features["shape"], "margin": features["margin"],
        "enhancement_pattern": features["enhancement_pattern"],
        "enhancement_mg_ml": round(features["concentration_mg_ml"], 3),
        "presented_class": presented,
        "typical_features": sum(presented[f] == label for f in FEATURES),
        "density": round(density, 3), "bpe_mg_ml": round(bpe, 3), "blood_iodine_mg_ml": round(blood, 2),
        "mlo_angle_deg": round(float(np.rad2deg(lesion.angle_mlo)), 1),
        "views": view_truth,
    }
    return {"id": cid, "label": label, "laterality": laterality, "images": images, "masks": masks,
            "breasts": breast_masks, "centres": centres_out, "boxes": boxes, "kvp": kvps,
            "weights": weights, "truth": truth}
