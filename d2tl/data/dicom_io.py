"""Mammography DICOM files: read pixels as the modality means them, and write them.

Reading uses pydicom's own pixel pipeline (decoders for compressed transfer syntaxes come from
pydicom and its plug-ins pylibjpeg, pylibjpeg-libjpeg and pylibjpeg-openjpeg), then the
modality LUT (rescale slope/intercept) and, for MONOCHROME1, an inversion so that larger values
always mean brighter (denser, or more enhancing) pixels.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ..io.atomic import atomic_path
from ..io.errors import DataError
from .dicom_tags import FOR_PRESENTATION, FOR_PROCESSING, VIEW_CODE_MEANINGS

# "Digital Mammography X-Ray Image Storage - For Presentation" / "- For Processing"
MAMMOGRAPHY_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MAMMOGRAPHY_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
SOP_CLASSES = {FOR_PRESENTATION: MAMMOGRAPHY_FOR_PRESENTATION, FOR_PROCESSING: MAMMOGRAPHY_FOR_PROCESSING}
MODALITIES = ("MG",)
# Image Type as PS3.3 writes a CEDM image (values 4 and 5; see d2tl.data.dicom_tags for reading).
IMAGE_TYPES = {"LOW_ENERGY": ["ORIGINAL", "PRIMARY", "", "", "LOW_ENERGY"],
               "HIGH_ENERGY": ["ORIGINAL", "PRIMARY", "", "", "HIGH_ENERGY"],
               "RECOMBINED": ["DERIVED", "PRIMARY", "", "SUBTRACTION", ""]}
VIEW_POSITIONS = {"cc": "CC", "mlo": "MLO"}


def is_dicom(path) -> bool:
    """True when ``path`` starts like a DICOM file (preamble + ``DICM``)."""
    return pydicom.misc.is_dicom(str(path))


def read_header(path) -> pydicom.Dataset:
    """The data set without pixel data (cheap), or an error naming the file."""
    try:
        return pydicom.dcmread(str(path), stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"file {path}: not a readable DICOM file ({exc})") from None


def dicom_size(path) -> tuple[int, int]:
    ds = read_header(path)
    _check_modality(ds, path)
    if "Rows" not in ds or "Columns" not in ds:
        raise DataError(f"file {path}: DICOM file without image (no Rows/Columns)")
    return int(ds.Rows), int(ds.Columns)


def read_dicom(path, modalities=MODALITIES) -> np.ndarray:
    """Pixel values as float32 (rows, cols): rescaled, MONOCHROME1 inverted."""
    try:
        ds = pydicom.dcmread(str(path))
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise DataError(f"file {path}: not a readable DICOM file ({exc})") from None
    _check_modality(ds, path, modalities)
    if "PixelData" not in ds:
        raise DataError(f"file {path}: DICOM file without pixel data")
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise DataError(f"file {path}: {ds.SamplesPerPixel} samples per pixel; a grey mammogram has 1")
    if int(ds.get("NumberOfFrames", 1) or 1) != 1:
        raise DataError(f"file {path}: {ds.NumberOfFrames} frames; one 2-D mammogram per file expected")
    try:
        stored = ds.pixel_array
    except Exception as exc:  # decoders raise many types; all mean "cannot decode here"
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown")
        name = getattr(syntax, "name", syntax)
        raise DataError(f"file {path}: cannot decode pixel data (transfer syntax {name}): {exc}") from None
    values = np.asarray(apply_modality_lut(stored, ds), dtype=np.float32)
    if ds.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        # MONOCHROME1: the minimum value is white. Invert within the stored range so that
        # larger always means brighter, as in MONOCHROME2.
        bits = int(ds.get("BitsStored", stored.dtype.itemsize * 8))
        lo, hi = _stored_range(bits, int(ds.get("PixelRepresentation", 0)))
        ends = apply_modality_lut(np.array([lo, hi]), ds).astype(np.float32)
        values = ends.min() + ends.max() - values
    return values


def _stored_range(bits: int, signed: int) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def _check_modality(ds, path, modalities=MODALITIES) -> None:
    modality = str(ds.get("Modality", "")).strip()
    if modalities and modality not in modalities:
        raise DataError(f"file {path}: modality {modality or '(none)'!r}, expected "
                        f"{' or '.join(modalities)} (mammography)")


def view_code_item(view: str) -> Dataset:
    """A View Code Sequence item: the SNOMED CT code of ``view`` (``cc``/``mlo``), no modifiers."""
    value, meaning = VIEW_CODE_MEANINGS[view]
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "SCT", meaning
    item.ViewModifierCodeSequence = Sequence([])
    return item


def write_mammogram(path, values: np.ndarray, *, patient_id: str, view: str, laterality: str,
                    energy: str, kvp: float | None = None, pixel_spacing_mm: float = 0.07,
                    bits_stored: int = 12, photometric: str = "MONOCHROME2",
                    study_uid: str | None = None, series_description: str = "",
                    transfer_syntax: str = ExplicitVRLittleEndian, intent: str = FOR_PRESENTATION,
                    contrast_agent: str | None = None, extra: dict | None = None) -> None:
    """Write a 2-D image as an MG DICOM file as PS3.3 describes a CEDM image, atomically.

    Float ``values`` are quantised to ``bits_stored`` bits with RescaleSlope/Intercept set so
    that :func:`read_dicom` gives them back to within one quantisation step; integer values
    are stored as they are (slope 1, intercept 0). ``energy`` is ``LOW_ENERGY``,
    ``HIGH_ENERGY`` or ``RECOMBINED``, written as Image Type value 5 (the energy) or value 4
    ``SUBTRACTION`` (recombined). The view goes into ViewPosition and the View Code Sequence
    (SNOMED CT); ``intent`` into Presentation Intent Type and the SOP class;
    ``contrast_agent`` (e.g. ``"iodinated contrast"``) into the Contrast/Bolus attributes
    (ingredient IODINE, route IV). ``photometric`` ``MONOCHROME1`` stores inverted pixels,
    so reading gives the same values back. ``extra`` sets further attributes last.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {values.shape}")
    if energy not in IMAGE_TYPES:
        raise ValueError(f"energy must be one of {', '.join(IMAGE_TYPES)}, got {energy!r}")
    if intent not in SOP_CLASSES:
        raise ValueError(f"intent must be one of {', '.join(SOP_CLASSES)}, got {intent!r}")
    stored, slope, intercept = quantise(values, bits_stored, photometric)
    ds = _new_dataset(path, patient_id, view, laterality, energy, intent, study_uid)
    ds.SeriesDescription = series_description
    _set_acquisition(ds, view, laterality, energy, intent, kvp, contrast_agent)
    _set_pixels(ds, stored, slope, intercept, bits_stored, photometric, pixel_spacing_mm)
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    if transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(transfer_syntax, stored, generate_instance_uid=False)
    with atomic_path(path) as tmp:
        ds.save_as(str(tmp), enforce_file_format=True)


def quantise(values: np.ndarray, bits_stored: int, photometric: str = "MONOCHROME2") -> tuple[np.ndarray, float, float]:
    """(stored uint16 pixels, rescale slope, intercept): floats spread over ``bits_stored`` bits,
    integers kept as they are; inverted for ``MONOCHROME1``."""
    top = 2 ** bits_stored - 1
    if np.issubdtype(values.dtype, np.integer):
        if values.min() < 0 or values.max() > top:
            raise ValueError(f"integer values outside 0..{top} for {bits_stored} bits")
        stored, slope, intercept = values.astype(np.uint16), 1.0, 0.0
    else:
        lo, hi = float(np.min(values)), float(np.max(values))
        slope = (hi - lo) / top if hi > lo else 1.0
        intercept = lo
        stored = np.clip(np.rint((values - lo) / slope), 0, top).astype(np.uint16)
    if photometric == "MONOCHROME1":
        stored = (top - stored).astype(np.uint16)
    elif photometric != "MONOCHROME2":
        raise ValueError(f"photometric must be MONOCHROME1 or MONOCHROME2, got {photometric!r}")
    return stored, slope, intercept


def _new_dataset(path, patient_id: str, view: str, laterality: str, energy: str, intent: str,
                 study_uid: str | None) -> FileDataset:
    """An MG data set with its file meta, UIDs, patient and dates."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASSES[intent]
    # UIDs derived from the content's identity, so a data set written twice is byte-identical.
    identity = [str(patient_id), view, laterality, energy, study_uid or ""]
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=identity + ["instance"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    now = datetime.datetime(2000, 1, 1)  # fixed: files are reproducible from the seed
    ds.SOPClassUID = SOP_CLASSES[intent]
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid(entropy_srcs=[str(patient_id), "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=identity + ["series"])
    ds.Modality = "MG"
    ds.PatientID = str(patient_id)
    ds.PatientName = str(patient_id)
    ds.StudyDate = ds.ContentDate = now.strftime("%Y%m%d")
    return ds


def _set_acquisition(ds, view: str, laterality: str, energy: str, intent: str, kvp: float | None,
                     contrast_agent: str | None) -> None:
    """Image Type, intent, view (position and code), contrast, laterality, orientation, kVp."""
    ds.ImageType = IMAGE_TYPES[energy]
    ds.PresentationIntentType = intent
    ds.ViewPosition = VIEW_POSITIONS.get(view.lower(), view.upper())
    if view.lower() in VIEW_CODE_MEANINGS:
        ds.ViewCodeSequence = Sequence([view_code_item(view.lower())])
    if contrast_agent:
        ds.ContrastBolusAgent = contrast_agent
        ds.ContrastBolusIngredient = "IODINE"
        ds.ContrastBolusRoute = "IV"
    ds.ImageLaterality = laterality
    ds.Laterality = laterality
    # Chest wall on the left edge for L, on the right for R (as the images are stored).
    ds.PatientOrientation = ["A", "R"] if laterality == "L" else ["P", "L"]
    if kvp is not None:
        ds.KVP = f"{kvp:g}"


def _set_pixels(ds, stored: np.ndarray, slope: float, intercept: float, bits_stored: int, photometric: str,
                pixel_spacing_mm: float) -> None:
    """Pixel spacing, the image pixel module and the modality LUT (rescale)."""
    ds.PixelSpacing = [f"{pixel_spacing_mm:.6g}"] * 2
    ds.ImagerPixelSpacing = ds.PixelSpacing
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = f"{slope:.10g}"
    ds.RescaleIntercept = f"{intercept:.10g}"
    ds.RescaleType = "US"
    ds.PixelData = stored.tobytes()


def dequantised(values: np.ndarray, bits_stored: int = 12) -> float:
    """The largest error :func:`write_mammogram` may introduce for float ``values``."""
    span = float(np.max(values) - np.min(values))
    return span / (2 ** bits_stored - 1) / 2 + 1e-6 * max(1.0, abs(float(np.max(values))))


def describe(path) -> dict:
    """A few identifying tags, for error messages and data checks."""
    ds = read_header(path)
    return {"file": str(Path(path)), "Modality": ds.get("Modality"), "ViewPosition": ds.get("ViewPosition"),
            "ImageLaterality": ds.get("ImageLaterality"), "ImageType": list(ds.get("ImageType", []))}
