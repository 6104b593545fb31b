"""One case in memory: both views exposed at low and high energy, recombined, with masks and truth."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ....io.errors import D2TLError
from ....protocol.views import VIEWS
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

    Every random draw comes from one generator seeded by (seed, 1, index), in a fixed order:
    the patient, the breasts and lesion, then each view. Changing that order changes the images
    (bump ``GENERATOR_VERSION``).
    """
    if not 0 <= index < config.n_cases:
        raise D2TLError(f"synthetic data: case index {index} outside 0..{config.n_cases - 1}")
    label, size = _plan(config)[index]
    rng = np.random.default_rng([config.seed, 1, index])
    cid = case_id(index, config.n_cases)
    patient = _draw_patient(config, rng, label)
    breasts, lesion, polys, placed = _place_lesion(rng, size, patient.features, cid)
    shots = {view: _render_view(config, rng, patient, breasts[view], lesion, view, placed[view]) for view in VIEWS}
    truth = _case_truth(cid, label, size, patient, lesion)
    truth["views"] = {view: _view_truth(shots[view], breasts[view], lesion, view, polys[view]) for view in VIEWS}
    return {"id": cid, "label": label, "laterality": patient.laterality,
            "images": {f"{kind}_{view}": getattr(shots[view], kind) for view in VIEWS for kind in ("le", "he", "rec")},
            "masks": {view: shots[view].mask for view in VIEWS},
            "breasts": {view: shots[view].inside for view in VIEWS},
            "centres": {view: shots[view].centre for view in VIEWS},
            "boxes": {view: shots[view].box for view in VIEWS},
            "kvp": {view: shots[view].kvp for view in VIEWS},
            "weights": {view: shots[view].weight for view in VIEWS}, "truth": truth}


@dataclasses.dataclass(frozen=True)
class _Patient:
    """The case-level draws: side, breast density, background enhancement, blood iodine, lesion features."""

    laterality: str
    density: float
    bpe: float
    blood: float
    presented: dict
    features: dict


def _draw_patient(config: SynthConfig, rng, label: str) -> _Patient:
    """Draw the patient, the first of the case's random draws."""
    laterality = "L" if rng.random() < 0.5 else "R"
    density = float(rng.uniform(*config.density_range))
    bpe = float(rng.uniform(*config.bpe_range))
    blood = float(rng.uniform(*BLOOD_IODINE))
    presented, features = _draw_features(rng, label, config.difficulty)
    return _Patient(laterality, density, bpe, blood, presented, features)


def _place_lesion(rng, size, features, cid, attempts=40, grow_step=1.07):
    """Breasts, lesion, its outline per view and a centre per view (full-resolution px) that fits both.

    Each attempt redraws the breasts and lesion from the same generator state, with the breast
    grown by ``grow_step``, until the lesion fits.
    """
    breast_rng_state = rng.bit_generator.state
    grow = 1.0
    for _ in range(attempts):
        rng.bit_generator.state = breast_rng_state
        breasts = _draw_breasts(rng, grow)
        lesion = _Lesion(rng, size, features, breasts["cc"].thickness_cm)
        polys = {v: lesion.outline(v, n=180) for v in VIEWS}
        placed = _find_position(rng, breasts, lesion, polys)
        if placed is not None:
            return breasts, lesion, polys, placed
        grow *= grow_step
    raise D2TLError(f"synthetic data: patient {cid}: could not fit a {size:.0f} px lesion in the breast")


def _find_position(rng, breasts, lesion, polys, tries=200):
    """Centres (x, y) per view at one distance from the nipple with the outline 3 mm inside both
    breasts, or None after ``tries`` draws."""
    cc, mlo = breasts["cc"], breasts["mlo"]
    margin = 3.0 / FULL_SPACING_MM
    for _ in range(tries):
        to_nipple = cc.depth * rng.uniform(0.15, 0.85)
        v, w = rng.uniform(-0.8, 0.8, 2)
        x_cc = cc.depth - to_nipple
        y_cc = cc.nipple_y + v * cc.half_height(x_cc, v < 0)
        x_m = mlo.depth - to_nipple
        s_m = float(np.clip(v * np.cos(lesion.angle_mlo) - w * np.sin(lesion.angle_mlo), -0.85, 0.85))
        y_m = mlo.nipple_y + s_m * mlo.half_height(x_m, s_m < 0)
        centres = {"cc": (x_cc, y_cc), "mlo": (x_m, y_m)}
        if all(breasts[vw].contains(centres[vw][0] + polys[vw][:, 0], centres[vw][1] + polys[vw][:, 1],
                                    margin).all() for vw in VIEWS):
            return centres
    return None


@dataclasses.dataclass
class _Shot:
    """One view, exposed and recombined, in stored orientation (image px at ``config.scale``)."""

    le: np.ndarray
    he: np.ndarray
    rec: np.ndarray
    mask: np.ndarray
    inside: np.ndarray
    centre: tuple
    box: tuple
    kvp: dict
    energies: tuple
    weight: float


def _render_view(config, rng, patient: _Patient, breast, lesion, view, placed) -> _Shot:
    """One view: tissue and iodine maps, both exposures, the recombined image, the box; then stored orientation."""
    parts, iodine, mask, inside, ref = _tissue(config, rng, patient, breast, lesion, view, placed)
    kv_le, kv_he = le_kvp(breast.thickness_cm), he_kvp(breast.thickness_cm)
    e_le, e_he = effective_energy(kv_le), effective_energy(kv_he)
    weight = cancelling_weight(e_le, e_he) * (1.0 + rng.normal(0.0, config.cancellation_error))
    le = _expose(config, e_le, parts, iodine, config.photons_le, ref, rng)
    he = _expose(config, e_he, parts, iodine, config.photons_he, ref, rng)
    centre, box = _locate(config, rng, lesion, view, placed)
    shot = _Shot(le, he, recombine(le, he, weight), mask, inside, centre, box,
                 {"le": kv_le, "he": kv_he}, (e_le, e_he), float(weight))
    return _stored(shot, patient.laterality, config.image_shape[1])


def _tissue(config, rng, patient: _Patient, breast, lesion, view, placed):
    """Attenuation parts, iodine map (mg/ml x cm), lesion mask, breast mask and the AEC's reference region."""
    inside, thick, skin, muscle, dist_mm, X, Y = _breast_maps(config, breast, rng)
    t_gland, _ = _glandular(config, breast, rng, inside, thick, skin, muscle, dist_mm, X, Y, patient.density)
    vessel = _vessels(config, breast, rng, inside)
    mask, chord, spic, io_lesion = _render_lesion(config, lesion, view, placed, rng, thick)
    patchy = _smooth_noise(inside.shape, 15.0 / config.pixel_mm, rng)  # BPE varies over ~15 mm
    bpe_map = patient.bpe * t_gland * np.clip(1.0 + 0.5 * patchy, 0.2, 2.0)
    iodine = bpe_map + io_lesion + patient.blood * vessel + MUSCLE_IODINE * muscle
    gf = np.where(thick > 0, t_gland / np.maximum(thick, 1e-6), 0.0)
    parts = {"thick": thick, "gland": t_gland, "skin": skin, "muscle": muscle, "gfrac": gf,
             "lesion": chord + spic, "vessel": vessel, "lesion_factor": lesion.density_factor}
    return parts, iodine, mask, inside, inside & (dist_mm > 20.0)


def _locate(config, rng, lesion, view, placed):
    """The lesion body's centroid and the jittered box centre, (x, y) in image px, chest wall left."""
    rows, cols = config.image_shape
    cx_full, cy_full = placed
    ox, oy = lesion.centroid_offset(view)
    centre = ((cx_full + ox) * config.scale, (cy_full + oy) * config.scale)
    jitter = rng.normal(0.0, config.placement_jitter, 2) * config.scale
    box = (float(np.clip(centre[0] + jitter[0], 0, cols - 1)), float(np.clip(centre[1] + jitter[1], 0, rows - 1)))
    return centre, box


def _stored(shot: _Shot, laterality: str, cols: int) -> _Shot:
    """Stored orientation: a right breast mirrored left-right (chest wall on the right); contiguous arrays."""
    centre, box = shot.centre, shot.box
    arrays = {"le": shot.le, "he": shot.he, "rec": shot.rec, "mask": shot.mask, "inside": shot.inside}
    if laterality == "R":
        arrays = {k: a[:, ::-1] for k, a in arrays.items()}
        centre = (cols - 1 - centre[0], centre[1])
        box = (cols - 1 - box[0], box[1])
    arrays = {k: np.ascontiguousarray(a) for k, a in arrays.items()}
    return dataclasses.replace(shot, **arrays, centre=(float(centre[0]), float(centre[1])), box=box)


def _view_truth(shot: _Shot, breast, lesion, view, poly) -> dict:
    """The JSON-ready truth of one view."""
    ext = np.ptp(poly, axis=0)
    return {
        "lesion_centre_px": [round(c, 2) for c in shot.centre],
        "box_centre_px": [round(c, 2) for c in shot.box],
        "lesion_bbox_full_px": [round(float(ext[0]), 1), round(float(ext[1]), 1)],
        "lesion_pixels": int(shot.mask.sum()),
        "thickness_cm": round(breast.thickness_cm, 2),
        "kvp_le": shot.kvp["le"], "kvp_he": shot.kvp["he"],
        "effective_energy_kev": [round(e, 2) for e in shot.energies],
        "rec_weight": round(shot.weight, 5),
        "spicules": len(lesion.spicules[view]),
    }


def _case_truth(cid, label, size, patient: _Patient, lesion) -> dict:
    """The JSON-ready truth of the case, without its views."""
    features, presented = patient.features, patient.presented
    return {
        "id": cid, "label": label, "laterality": patient.laterality,
        "size_full_px": round(size, 1),
        "shape": features["shape"], "margin": features["margin"],
        "enhancement_pattern": features["enhancement_pattern"],
        "enhancement_mg_ml": round(features["concentration_mg_ml"], 3),
        "presented_class": presented,
        "typical_features": sum(presented[f] == label for f in FEATURES),
        "density": round(patient.density, 3), "bpe_mg_ml": round(patient.bpe, 3),
        "blood_iodine_mg_ml": round(patient.blood, 2),
        "mlo_angle_deg": round(float(np.rad2deg(lesion.angle_mlo)), 1),
    }
