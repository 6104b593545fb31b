"""CDD-CESM image names (``P<n>_<side>_<DM|CM>_<view>``, irregular spellings included), parsed."""

from __future__ import annotations

import dataclasses

from .options import IMAGE_SUFFIXES, NAME_RE, TYPE_MODES


def canonical_stem(name: str) -> str:
    """``"P3_L_CM_CC .jpg "`` -> ``"P3_L_CM_CC"``: spaces around the name and before the
    extension removed, an image extension dropped, letters upper case."""
    stem = str(name).strip()
    lower = stem.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem.strip().upper()


@dataclasses.dataclass(frozen=True)
class ImageName:
    patient: str  # "P12"
    side: str  # "L" / "R"
    mode: str  # "le" / "rec"
    view: str  # "cc" / "mlo"
    copy: int | None  # 2 for P99_L_DM_MLO_2

    @property
    def base(self) -> str:
        """The name without copy number, e.g. ``P99_L_DM_MLO``."""
        return f"{self.patient}_{self.side}_{'DM' if self.mode == 'le' else 'CM'}_{self.view.upper()}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.patient, self.side, self.mode, self.view


def parse_name(name: str) -> ImageName | None:
    """Parse a CDD-CESM image name (any spacing, with or without extension), or None."""
    match = NAME_RE.match(canonical_stem(name))
    if not match:
        return None
    number, side, kind, view, copy = match.groups()
    return ImageName(patient=f"P{int(number)}", side=side.upper(), mode=TYPE_MODES[kind.upper()],
                     view=view.lower(), copy=int(copy) if copy else None)
