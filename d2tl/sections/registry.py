"""The paper's sections in report order: adding a section is one file with a ``SECTION`` and one
line here."""

from __future__ import annotations

from ..io.errors import D2TLError
from .box_shift import SECTION as BOX_SHIFT
from .box_size import SECTION as BOX_SIZE
from .pooling import SECTION as POOLING
from .random_init import SECTION as RANDOM_INIT
from .spec import Section
from .tuning import SECTION as TUNING

SECTIONS: tuple[Section, ...] = (
    BOX_SIZE,  # Sec. 4.1, Fig. 7
    BOX_SHIFT,  # Sec. 4.2, Fig. 8
    POOLING,  # Sec. 4.3, Fig. 9
    TUNING,  # Sec. 4.4, Fig. 10
    RANDOM_INIT,  # Sec. 4.4, learning curves
)
ORDER = tuple(s.name for s in SECTIONS)
INFO = {s.name: s.info for s in SECTIONS}  # section -> (paper section, figure, title)
FIGURES = {s.name: s.figure_file for s in SECTIONS}
_BY_NAME = {s.name: s for s in SECTIONS}


def get(name: str) -> Section:
    """The section called ``name``; an error naming the choices otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise D2TLError(f"unknown section {name!r}; choose one of {', '.join(ORDER)}") from None


def plan(section: str, ctx) -> list:
    """The training configurations of ``section``, in the order they are trained."""
    return get(section).plan(ctx)
