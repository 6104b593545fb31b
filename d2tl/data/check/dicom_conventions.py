"""check-data's DICOM part: which conventions a data set's files follow, and what they contradict.

Per image (through :mod:`d2tl.data.dicom_tags`): the role its Image Type names (or, failing
that, its kVp) and its view must agree with the case-table column it sits in; ImageType must
not name two roles; ViewPosition and View Code Sequence must agree. Counted per data set:
Image Type convention (standard, vendor alias, kVp fallback, none), view source, pixel
spacing source and presentation intent.
"""

from __future__ import annotations

from collections import Counter

from .. import dicom_io, dicom_tags


class DicomConventions:
    """Counts of the conventions a data set's DICOM files follow, and the problems they show."""

    def __init__(self):
        self.counts = {k: Counter() for k in ("image_type", "view", "pixel_spacing", "presentation_intent")}
        self.intents = []  # (path, presentation intent) of every image

    def add(self, path, key: str, at: str, problems: list) -> str | None:
        """Read one image's header (``key`` = ``le_cc`` ...); return its pitch (mm, text) or None."""
        ds = dicom_io.read_header(path)
        mode_column, view_column = key.split("_")
        try:
            mode = dicom_tags.mode_of(ds, path)
        except dicom_tags.ContradictoryTags as exc:
            problems.append(f"{at}, image {key}: {exc}")
            mode = dicom_tags.Reading(None, "contradictory")
        if mode.value and mode.value != mode_column:
            problems.append(f"{at}, image {key}: file {path} is tagged {dicom_tags.MODE_WORDS[mode.value]} "
                            f"({mode.note}), not {dicom_tags.MODE_WORDS[mode_column]}")
        view = dicom_tags.view_of(ds)
        if view.value and view.value != view_column:
            problems.append(f"{at}, image {key}: file {path} is a {view.value.upper()} view ({view.source}), "
                            f"not {view_column.upper()}")
        elif view.value is None and "disagree" in view.note:
            problems.append(f"{at}, image {key}: file {path}: {view.note}")
        pitch = dicom_tags.pitch_of(ds)
        intent = dicom_tags.intent_of(ds)
        self.intents.append((path, intent))
        for name, value in (("image_type", mode.source), ("view", view.source), ("pixel_spacing", pitch.source),
                            ("presentation_intent", intent)):
            self.counts[name][value or "none"] += 1
        return pitch.value

    def summary(self) -> dict:
        return {name: dict(counter.most_common()) for name, counter in self.counts.items() if counter}


def format_conventions(summary: dict) -> list[str]:
    """The summary lines about DICOM conventions and scales."""
    lines = []
    conventions = summary.get("dicom_conventions") or {}
    if conventions:
        lines.append("DICOM conventions: " + "; ".join(
            f"{name.replace('_', ' ')} " + ", ".join(f"{k} {v}" for k, v in counts.items())
            for name, counts in conventions.items()))
    else:
        lines.append("DICOM conventions: no DICOM images")
    shown = summary.get("scale_vs_pixel_spacing") or []
    if shown:
        lines.append(f"scale differs from 0.07 mm / pixel pitch in {len(shown)} case(s): " + "; ".join(shown[:5])
                     + (" ..." if len(shown) > 5 else ""))
    return lines
