"""The synthetic set's DICOM files, written as PS3.3 describes a CEDM image.

Each image carries Image Type value 5 ``LOW_ENERGY``/``HIGH_ENERGY`` or value 4
``SUBTRACTION`` (recombined), ViewPosition and the View Code Sequence (SNOMED CT),
Presentation Intent Type ``FOR PRESENTATION``, the Contrast/Bolus attributes (iodinated
contrast: every CEDM exposure follows the injection), the tube voltage of its exposure (the
recombined image: the HE one), Imager Pixel Spacing and Pixel Spacing, and the compressed
breast thickness. Only headers are decided here; the pixels come from
:func:`.render.generate_case` unchanged.
"""

from __future__ import annotations

from pathlib import Path

from ....protocol.views import VIEWS
from ...dicom_io import write_mammogram

CONTRAST_AGENT = "iodinated contrast"
MODES = (("le", "LE", "LOW_ENERGY"), ("rec", "REC", "RECOMBINED"), ("he", "HE", "HIGH_ENERGY"))
VIEW_NAMES = {"cc": "CC", "mlo": "MLO"}


def write_case_images(case: dict, image_dir: Path, *, pixel_mm: float, bits_stored: int, study_uid: str,
                      write_he: bool) -> dict:
    """Write one generated case's images under ``image_dir``; return {``<mode>_<view>_path``: path}."""
    cid, lat = case["id"], case["laterality"]
    paths = {}
    for view in VIEWS:
        code = VIEW_NAMES[view]
        thickness_mm = case["truth"]["views"][view]["thickness_cm"] * 10
        for mode, tag, energy in MODES:
            if mode == "he" and not write_he:
                continue
            path = Path(image_dir) / f"{cid}_{lat}_{tag}_{code}.dcm"
            kvp = case["kvp"][view]["he" if mode in ("he", "rec") else "le"]
            write_mammogram(path, case["images"][f"{mode}_{view}"], patient_id=cid, view=view, laterality=lat,
                            energy=energy, kvp=kvp, pixel_spacing_mm=pixel_mm, bits_stored=bits_stored,
                            study_uid=study_uid, series_description=f"synthetic CEDM {tag} {code}",
                            contrast_agent=CONTRAST_AGENT,
                            extra={"BodyPartThickness": f"{thickness_mm:.0f}", "PatientSex": "F"})
            paths[f"{mode}_{view}_path"] = str(path)
    return paths
