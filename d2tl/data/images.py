"""Reading a case's images: any supported file to a float array, in one orientation.

Formats: DICOM (through :mod:`d2tl.data.dicom_io`), PNG, JPEG and TIFF (through Pillow, with
RGB reduced to grey). Orientation convention: a left breast is kept as stored (chest wall at
column 0, as in CDD-CESM and our synthetic data); a right breast is mirrored left to right, and
so are its box centres and masks, so that every breast faces the same way.

When a case gives a high-energy (HE) image instead of a recombined one, the recombined image
is computed here by weighted log subtraction (:func:`recombine`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..io.errors import DataError, where
from . import dicom_io
from .breast import breast_threshold
from .case_columns import centre, image_path_column, mask_path_column

RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
DEFAULT_RECOMBINE_WEIGHT = 0.25  # glandular HE/LE attenuation ratio, typical
Image.MAX_IMAGE_PIXELS = None  # full-field mammograms are large; they are trusted local files


def _is_dicom(path: Path) -> bool:
    return path.suffix.lower() in (".dcm", ".dicom") or (
        path.suffix.lower() not in RASTER_SUFFIXES and dicom_io.is_dicom(path))


def image_size(path) -> tuple[int, int]:
    """(rows, cols) of an image file, from its header only."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file {path} does not exist")
    if _is_dicom(path):
        return dicom_io.dicom_size(path)
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"file {path}: not a readable image ({exc})") from None


def read_image(path) -> np.ndarray:
    """Pixel values of one image as float32 (rows, cols); larger = brighter.

    DICOM values are the rescaled (modality LUT) values, MONOCHROME1 inverted; raster images
    give their grey level (RGB and palette images are converted to luminance).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file {path} does not exist")
    if _is_dicom(path):
        return dicom_io.read_dicom(path)
    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                array = np.asarray(im)
            else:
                if im.mode not in ("L", "LA", "P", "RGB", "RGBA", "CMYK", "1"):
                    raise DataError(f"file {path}: unsupported image mode {im.mode}")
                array = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"file {path}: not a readable image ({exc})") from None
    if array.ndim != 2:
        raise DataError(f"file {path}: expected a 2-D grey image, got shape {array.shape}")
    return array.astype(np.float32)


def read_mask(path) -> np.ndarray:
    """A lesion mask file as a bool array (non-zero = lesion)."""
    return read_image(path) > 0


def recombine(le: np.ndarray, he: np.ndarray, weight: float = DEFAULT_RECOMBINE_WEIGHT) -> np.ndarray:
    """Recombined image by weighted log subtraction: ``ln(HE) - weight * ln(LE)``.

    Inputs are for-presentation images where larger means more attenuation (inverse
    transmission I0/I, as our synthetic data stores them), so their logarithms are
    attenuation line integrals; ``weight`` is the ratio of glandular tissue's effective
    attenuation at HE and LE (about 0.22-0.26 for 26-32 / 45-49 kVp spectra), which cancels
    glandular contrast and leaves iodine positive. A case table may give the weight per view
    (``cc_rec_weight``, ``mlo_rec_weight``). Values are clipped to 1e-6 before the logarithm.
    """
    le = np.clip(np.asarray(le, dtype=np.float32), 1e-6, None)
    he = np.clip(np.asarray(he, dtype=np.float32), 1e-6, None)
    if le.shape != he.shape:
        raise ValueError(f"LE {le.shape} and HE {he.shape} images differ in size")
    return (np.log(he) - np.float32(weight) * np.log(le)).astype(np.float32)


def breast_mask(image: np.ndarray) -> np.ndarray:
    """Pixels brighter than the air/breast threshold (:func:`d2tl.data.breast.breast_threshold`)."""
    return image > breast_threshold(image)


def mirror_x(x: float, width: int) -> float:
    """Column ``x`` of an image ``width`` px wide after a left-right flip."""
    return width - 1 - x


@dataclasses.dataclass(frozen=True)
class ViewImages:
    """One view of one case, in the common orientation."""

    case_id: str
    view: str
    le: np.ndarray
    rec: np.ndarray
    centre: tuple[float, float]  # (x, y) box centre after mirroring
    mask: np.ndarray | None
    mirrored: bool
    scale: float

    def image(self, mode: str) -> np.ndarray:
        return self.le if mode == "le" else self.rec


def load_view(row, view: str, recombine_weight: float = DEFAULT_RECOMBINE_WEIGHT,
              with_mask: bool = True) -> ViewImages:
    """Read the LE and recombined images (and mask) of ``view`` for one case-table row.

    Errors name the patient, the image and the file.
    """
    case_id = row["id"]
    mirrored = row["laterality"] == "R"

    def read(key, path, reader=read_image):
        try:
            return reader(path)
        except DataError as exc:
            raise DataError(f"{where(case_id, key)}: {exc}") from None

    le_path = row[image_path_column(f"le_{view}")]
    le = read(f"le_{view}", le_path)
    rec_path = row[image_path_column(f"rec_{view}")]
    if rec_path:
        rec = read(f"rec_{view}", rec_path)
    else:
        he = read(f"he_{view}", row[f"he_{view}_path"])
        if he.shape != le.shape:
            raise DataError(f"{where(case_id, f'he_{view}', row[f'he_{view}_path'])}: "
                            f"{he.shape[1]}x{he.shape[0]} px, but the LE image is {le.shape[1]}x{le.shape[0]} px")
        weight = row.get(f"{view}_rec_weight", "") if hasattr(row, "get") else ""
        rec = recombine(le, he, float(weight) if str(weight).strip() not in ("", "nan") else recombine_weight)
    if rec.shape != le.shape:
        raise DataError(f"{where(case_id, f'rec_{view}', rec_path)}: {rec.shape[1]}x{rec.shape[0]} px, "
                        f"but the LE image {le_path} is {le.shape[1]}x{le.shape[0]} px")
    mask = None
    mask_path = row.get(mask_path_column(view), "") if hasattr(row, "get") else ""
    if with_mask and mask_path:
        mask = read(f"{view} mask", mask_path, read_mask)
        if mask.shape != le.shape:
            raise DataError(f"{where(case_id, f'{view} mask', mask_path)}: {mask.shape[1]}x{mask.shape[0]} px, "
                            f"but the LE image {le_path} is {le.shape[1]}x{le.shape[0]} px")
    x, y = centre(row, view)
    if mirrored:
        le, rec = le[:, ::-1], rec[:, ::-1]
        mask = mask[:, ::-1] if mask is not None else None
        x = mirror_x(x, le.shape[1])
    return ViewImages(case_id=case_id, view=view, le=np.ascontiguousarray(le),
                      rec=np.ascontiguousarray(rec), centre=(x, y),
                      mask=None if mask is None else np.ascontiguousarray(mask),
                      mirrored=mirrored, scale=float(row.get("scale", 1.0) or 1.0))
