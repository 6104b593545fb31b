"""Sec. 4.1 / Fig. 7: box size -- boxes of 64, 128, 256 and 512 px around the tumour.

Trains D2TL (dual-mode, full-tune) once per box size and writes, to ``OUT/box_size/``, test
accuracy, sensitivity and specificity per box and training time per box (table, Markdown with the
paper's numbers beside ours, and a two-panel figure like Fig. 7: training time; accuracy bars with
sensitivity/specificity written on top).

    python experiments/box_size.py                     # quick preset, data/synthetic/cases.csv
    python experiments/box_size.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/box_size.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2tl import sections  # noqa: E402

SECTION = "box_size"


def run(ctx: sections.Context) -> sections.SectionResult:
    """Run this section in ``ctx`` (its results store, data and compiled graphs are shared)."""
    return sections.run_section(SECTION, ctx)


def main(argv=None) -> int:
    return sections.main(SECTION, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
