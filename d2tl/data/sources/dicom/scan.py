"""The DICOM folder: every DICOM file found, its header read, its role (view, laterality, mode) named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from ....io.errors import DataError
from ....protocol.views import LATERALITIES
from ... import dicom_tags
from ...dicom_tags import ContradictoryTags


DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".txt", ".csv", ".json", ".md", ".xlsx")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
MAX_LISTED = 20  # problems listed in one error message


@dataclasses.dataclass(frozen=True)
class DicomImage:
    path: Path
    patient: str
    view: str | None  # cc / mlo / None (other or absent)
    laterality: str | None
    mode: str | None  # le / rec / he / None
    rows: int
    cols: int
    note: str = ""  # why the file cannot serve (contradictory tags, other view ...)
    mode_from: str = ""  # standard / vendor alias / kVp fallback ("" when unidentified)
    mode_detail: str = ""  # the values that gave the mode
    view_from: str = ""  # ViewPosition / View Code Sequence / both
    pitch_mm: str | None = None  # pixel pitch, mm
    pitch_from: str = ""  # ImagerPixelSpacing / PixelSpacing
    intent: str = ""  # FOR PRESENTATION / FOR PROCESSING / "" unknown

    def record(self) -> dict:
        """What the report says about this file."""
        return {"file": str(self.path), "patient": self.patient, "mode": self.mode, "mode_from": self.mode_from,
                "mode_detail": self.mode_detail, "view": self.view, "view_from": self.view_from,
                "laterality": self.laterality, "pitch_mm": self.pitch_mm, "pitch_from": self.pitch_from,
                "intent": self.intent, "note": self.note}


def _candidates(folder: Path):
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        if path.name.upper() == "DICOMDIR":
            continue
        suffix = path.suffix.lower()
        if suffix in DICOM_SUFFIXES:
            yield path
        elif suffix not in RASTER_SUFFIXES and path.stat().st_size >= 132 and pydicom.misc.is_dicom(str(path)):
            yield path


def read_dicom_file(path: Path, patient_from: str = "tag", root: Path | None = None) -> DicomImage | None:
    """The identifying tags of one file, after checking that its pixel data is all there.

    Returns None for DICOM objects that are not images (no pixel data, e.g. a structured
    report). Raises :class:`DataError` naming the file when it cannot be read.
    """
    ds = _read_dataset(path)
    if str(ds.get("SOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
        return None
    if "PixelData" not in ds:
        if "Rows" in ds:
            raise DataError(f"file {path}: DICOM image without pixel data (truncated file?)")
        return None
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    _check_pixel_length(ds, path, rows, cols)
    if patient_from == "folder" and root is not None:
        patient = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else ""
    else:
        patient = str(ds.get("PatientID", "")).strip()
    notes = []
    view = dicom_tags.view_of(ds)
    if view.note:
        notes.append(view.note)
    laterality = _laterality(ds, notes)
    mode = dicom_tags.mode_of(ds, path)  # two roles named: ContradictoryTags
    if mode.value is None:
        notes.append(mode.note)
    pitch = dicom_tags.pitch_of(ds)
    return DicomImage(path=path, patient=patient, view=view.value, laterality=laterality, mode=mode.value,
                      rows=rows, cols=cols, note=", ".join(notes), mode_from=mode.source,
                      mode_detail=mode.note if mode.value else "", view_from=view.source,
                      pitch_mm=pitch.value, pitch_from=pitch.source, intent=dicom_tags.intent_of(ds))


def _read_dataset(path: Path):
    """The whole data set, or an error saying why the file is not a readable DICOM file."""
    if path.stat().st_size == 0:
        raise DataError(f"file {path}: empty file")
    try:
        return pydicom.dcmread(str(path))
    except InvalidDicomError:
        raise DataError(f"file {path}: not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from None
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise DataError(f"file {path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from None


def _check_pixel_length(ds, path: Path, rows: int, cols: int) -> None:
    """Uncompressed pixel data must be as long as its size says (compressed data is decoded by
    check-data, which reads every image)."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax is None or not getattr(syntax, "is_compressed", False):
        bits = int(ds.get("BitsAllocated", 16) or 16)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        expected = (rows * cols * frames * samples * bits + 7) // 8
        if len(ds.PixelData) < expected:
            raise DataError(f"file {path}: truncated: {len(ds.PixelData)} bytes of pixel data, "
                            f"{expected} expected for {cols}x{rows} px at {bits} bits")


def _laterality(ds, notes: list) -> str | None:
    """L or R when ImageLaterality and Laterality agree on it; else None, with the reason in ``notes``."""
    lats = {str(ds.get(k, "")).strip().upper() for k in ("ImageLaterality", "Laterality")} - {""}
    if len(lats) > 1:
        notes.append(f"ImageLaterality {ds.get('ImageLaterality')!r} and Laterality {ds.get('Laterality')!r} disagree")
        return None
    if lats and lats <= set(LATERALITIES):
        return lats.pop()
    notes.append(f"laterality {(lats.pop() if lats else '(none)')!r} is not L or R")
    return None


def scan_folder(folder, patient_from: str = "tag", skip_unreadable: bool = False) -> tuple[list[DicomImage], dict]:
    """Every DICOM image under ``folder``; raises one error listing every unreadable file
    (unless ``skip_unreadable``, which lists them in the notes instead)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"DICOM folder {folder} does not exist")
    images, unreadable, contradictory, not_images = [], [], [], []
    for path in _candidates(folder):
        try:
            image = read_dicom_file(path, patient_from, folder)
        except ContradictoryTags as exc:
            contradictory.append(str(exc))
            continue
        except DataError as exc:
            unreadable.append(str(exc))
            continue
        if image is None:
            not_images.append(str(path))
        else:
            images.append(image)
    if (unreadable or contradictory) and not skip_unreadable:
        heads = [f"{len(unreadable)} unreadable file(s)"] * bool(unreadable) + \
                [f"{len(contradictory)} file(s) with contradictory ImageType"] * bool(contradictory)
        raise DataError(_listing(f"DICOM folder {folder}: {' and '.join(heads)}", unreadable + contradictory))
    return images, {"unreadable": unreadable, "contradictory": contradictory, "not_images": not_images,
                    "images": len(images)}


def _listing(head: str, items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = f"; ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"{head}: " + "; ".join(shown) + more
