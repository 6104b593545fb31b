"""Sec. 4.2 / Fig. 8: box shift -- the box centre moved 10, 20 or 40 px in a random direction.

The direction is drawn per case and view and shared by the view's LE and recombined images; each
shift size is repeated with new directions (paper: 10 times; ``shift_repeats`` of the preset). Writes,
to ``OUT/box_shift/``, every repeat's test metrics, their mean per shift, p-values for 10 vs 20 px
and 40 vs 20 px on test accuracy (Welch's t-test, with Mann-Whitney U as a check) and a figure like
Fig. 8. The original placement is the default configuration (shared with the other sections).

    python experiments/box_shift.py                     # quick preset, data/synthetic/cases.csv
    python experiments/box_shift.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/box_shift.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2tl import sections  # noqa: E402

SECTION = "box_shift"


def run(ctx: sections.Context) -> sections.SectionResult:
    """Run this section in ``ctx`` (its results store, data and compiled graphs are shared)."""
    return sections.run_section(SECTION, ctx)


def main(argv=None) -> int:
    return sections.main(SECTION, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
