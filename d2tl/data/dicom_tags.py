"""What a CEDM mammogram's DICOM header says it is: mode, view, pixel pitch, presentation intent.

**Mode**, from Image Type (0008,0008), read by position as DICOM PS3.3 defines it for the
Digital Mammography X-Ray Image Module (Tables C.8-74d and C.8-74e):

* value 4 ``SUBTRACTION`` -> recombined (the dual-energy subtracted image);
* value 5 ``LOW_ENERGY`` / ``HIGH_ENERGY`` -> low / high energy;
* vendor aliases, in any position: ``RECOMBINED`` and ``SUBTRACTED`` (and ``SUBTRACTION``
  outside value 4) -> recombined; ``LOW_ENERGY`` / ``HIGH_ENERGY`` outside value 5;
* accepted: values naming one role, possibly twice (``SUBTRACTION`` in value 4 and
  ``RECOMBINED`` elsewhere). Values naming two roles (LE and HE, or recombined and an
  energy) are an error naming the file;
* no role named: the tube voltage, KVP (0018,0060), decides as a fallback for images that are
  not ``DERIVED``: at most :data:`LE_MAX_KVP` -> LE, at least :data:`HE_MIN_KVP` -> HE. A kVp
  in between, or a ``DERIVED`` image (possibly recombined: kVp cannot identify one), stays
  unidentified.

**View**, from ViewPosition (0018,5101) and the View Code Sequence (0054,0220), whose code is
SNOMED CT (399162004 cranio-caudal, 399368009 medio-lateral oblique) or, in older files, SRT
(R-10242, R-10226). Either alone suffices; when they disagree the view is unidentified.

**Pitch**, from Imager Pixel Spacing (0018,1164), else Pixel Spacing (0028,0030); a case's
``scale`` is :data:`REFERENCE_PITCH_MM` / pitch (the paper's Hologic detector: 0.07 mm).

**Presentation intent**, from Presentation Intent Type (0008,0068), else the SOP class.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..io.errors import DataError

REFERENCE_PITCH_MM = 0.07  # Hologic Selenia Dimensions detector element, the paper's pixel
LE_MAX_KVP = 35.0  # low-energy exposures: about 26-34 kVp (below iodine's K edge)
HE_MIN_KVP = 40.0  # high-energy exposures: about 45-49 kVp
STANDARD_VALUE4 = {"SUBTRACTION": "rec"}
STANDARD_VALUE5 = {"LOW_ENERGY": "le", "HIGH_ENERGY": "he"}
ALIASES = {"RECOMBINED": "rec", "SUBTRACTED": "rec", "SUBTRACTION": "rec", "LOW_ENERGY": "le", "HIGH_ENERGY": "he"}
MODE_WORDS = {"le": "low energy", "he": "high energy", "rec": "recombined"}
VIEW_CODES = {"399162004": "cc", "R-10242": "cc", "399368009": "mlo", "R-10226": "mlo"}
VIEW_CODE_MEANINGS = {"cc": ("399162004", "cranio-caudal"), "mlo": ("399368009", "medio-lateral oblique")}
VIEW_POSITIONS = {"CC": "cc", "MLO": "mlo"}
FOR_PRESENTATION, FOR_PROCESSING = "FOR PRESENTATION", "FOR PROCESSING"
INTENT_BY_SOP_CLASS = {"1.2.840.10008.5.1.4.1.1.1.2": FOR_PRESENTATION, "1.2.840.10008.5.1.4.1.1.1.2.1": FOR_PROCESSING}
MAX_FILES = 10  # files named per group in one message

# conventions, as reported per file and counted by check-data
STANDARD, ALIAS, KVP_FALLBACK = "standard", "vendor alias", "kVp fallback"


class ContradictoryTags(DataError):
    """An image whose Image Type names two roles (the message names the file and the values)."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """One attribute's reading: ``value`` (None: unidentified), the ``source`` it came from, why not."""

    value: str | None
    source: str = ""
    note: str = ""


def image_type(ds) -> list[str]:
    """Image Type's values, upper case, empty ones kept (a single value is a list of one)."""
    value = ds.get("ImageType")
    if value is None:
        return []
    values = [value] if isinstance(value, (str, bytes)) else list(value)
    return [str(v).strip().upper() for v in values]


def mode_of(ds, path="") -> Reading:
    """``le``/``he``/``rec`` from Image Type (or kVp); see the module docstring.

    Raises :class:`ContradictoryTags` naming ``path`` when Image Type names two roles.
    """
    values = image_type(ds)
    named = []  # (mode, position 1-based, term, standard?)
    for position, term in enumerate(values, start=1):
        if position == 4 and term in STANDARD_VALUE4:
            named.append((STANDARD_VALUE4[term], position, term, True))
        elif position == 5 and term in STANDARD_VALUE5:
            named.append((STANDARD_VALUE5[term], position, term, True))
        elif term in ALIASES:
            named.append((ALIASES[term], position, term, False))
    roles = sorted({mode for mode, *_ in named})
    shown = "\\".join(values)
    if len(roles) > 1:
        terms = "; ".join(f"value {p} {t} = {MODE_WORDS[m]}" for m, p, t, _ in named)
        raise ContradictoryTags(f"file {path}: ImageType '{shown}' names {len(roles)} roles ({terms}); one image is "
                        f"one of low energy (value 5 LOW_ENERGY), high energy (value 5 HIGH_ENERGY) or "
                        f"recombined (value 4 SUBTRACTION)")
    if roles:
        standard = any(s for *_, s in named)
        where = ", ".join(f"value {p} {t}" for _, p, t, _ in named)
        return Reading(roles[0], STANDARD if standard else ALIAS, f"ImageType {where}")
    return _mode_from_kvp(ds, values, shown)


def _mode_from_kvp(ds, values, shown) -> Reading:
    nothing = f"ImageType '{shown or '(none)'}' names no energy (value 4 SUBTRACTION, value 5 LOW_ENERGY or HIGH_ENERGY)"
    raw = ds.get("KVP")
    try:
        kvp = float(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        kvp = None
    if kvp is None:
        return Reading(None, "", f"{nothing} and KVP is {'absent' if raw in (None, '') else repr(str(raw))}")
    if values and values[0] == "DERIVED":
        return Reading(None, "", f"{nothing}; a DERIVED image at {kvp:g} kVp may be recombined, which kVp cannot tell")
    if kvp <= LE_MAX_KVP:
        return Reading("le", KVP_FALLBACK, f"KVP {kvp:g} <= {LE_MAX_KVP:g}")
    if kvp >= HE_MIN_KVP:
        return Reading("he", KVP_FALLBACK, f"KVP {kvp:g} >= {HE_MIN_KVP:g}")
    return Reading(None, "", f"{nothing}; KVP {kvp:g} is between {LE_MAX_KVP:g} and {HE_MIN_KVP:g} (neither LE nor HE)")


def view_code(ds) -> tuple[str | None, str]:
    """(``cc``/``mlo``/None, the code as ``DESIGNATOR:VALUE``) from the View Code Sequence's first item."""
    sequence = ds.get("ViewCodeSequence")
    if not sequence:
        return None, ""
    item = sequence[0]
    value = str(item.get("CodeValue", "")).strip()
    scheme = str(item.get("CodingSchemeDesignator", "")).strip()
    return VIEW_CODES.get(value.upper()), f"{scheme}:{value}" if scheme else value


def view_of(ds) -> Reading:
    """``cc``/``mlo`` from ViewPosition and/or the View Code Sequence; None when neither or they disagree."""
    position = str(ds.get("ViewPosition", "") or "").strip().upper()
    by_position = VIEW_POSITIONS.get(position)
    by_code, code = view_code(ds)
    if position and code:
        if by_position != by_code:
            return Reading(None, "", f"ViewPosition {position!r} and View Code Sequence {code} "
                                     f"({by_code.upper() if by_code else 'neither CC nor MLO'}) disagree")
        return Reading(by_code, "ViewPosition and View Code Sequence")
    if code:
        return Reading(by_code, "View Code Sequence", "" if by_code else f"View Code Sequence {code} is neither CC nor MLO")
    if position:
        return Reading(by_position, "ViewPosition", "" if by_position else f"ViewPosition {position!r} is neither CC nor MLO")
    return Reading(None, "", "neither ViewPosition nor View Code Sequence")


def pitch_of(ds) -> Reading:
    """Pixel pitch in mm (as text) from ImagerPixelSpacing, else PixelSpacing; mean of rows and columns."""
    for keyword in ("ImagerPixelSpacing", "PixelSpacing"):
        value = ds.get(keyword)
        if not value:
            continue
        try:
            numbers = [float(v) for v in (value if not isinstance(value, (str, float, int)) else [value])]
        except (TypeError, ValueError):
            return Reading(None, keyword, f"{keyword} {value!r} is not a number")
        if not numbers or min(numbers) <= 0:
            return Reading(None, keyword, f"{keyword} {list(numbers)} is not positive")
        return Reading(f"{sum(numbers) / len(numbers):.6g}", keyword)
    return Reading(None, "", "neither ImagerPixelSpacing nor PixelSpacing")


def scale_from_pitch(pitch_mm: float) -> float:
    """Image pixels per paper (0.07 mm) pixel: ``REFERENCE_PITCH_MM / pitch_mm``, 6 significant digits."""
    return float(f"{REFERENCE_PITCH_MM / float(pitch_mm):.6g}")


def intent_of(ds) -> str:
    """``FOR PRESENTATION``, ``FOR PROCESSING`` or ``""`` (unknown)."""
    intent = str(ds.get("PresentationIntentType", "") or "").strip().upper()
    if intent:
        return intent
    return INTENT_BY_SOP_CLASS.get(str(ds.get("SOPClassUID", "")), "")


def mixed_intent(images, option: str = "--mixed-intent") -> str | None:
    """A message listing files by intent when ``images`` ((path, intent) pairs) mix FOR PROCESSING
    and FOR PRESENTATION, naming ``option``; None when they do not."""
    groups: dict[str, list[str]] = {}
    for path, intent in images:
        if intent:
            groups.setdefault(intent, []).append(str(Path(path)))
    if not {FOR_PRESENTATION, FOR_PROCESSING} <= set(groups):
        return None
    parts = []
    for intent, paths in sorted(groups.items()):
        more = f", ... and {len(paths) - MAX_FILES} more" if len(paths) > MAX_FILES else ""
        parts.append(f"{len(paths)} {intent} ({', '.join(paths[:MAX_FILES])}{more})")
    return ("images of both presentation intents: " + "; ".join(parts) +
            f". Raw (FOR PROCESSING) and processed (FOR PRESENTATION) images differ in grey scale; use one "
            f"kind, or allow the mix with {option}")
