"""Apply a change in how results are reported to the committed results, without retraining.

    python experiments/refresh_committed_results.py            # results/ of this checkout
    python experiments/refresh_committed_results.py --results R

The committed results come from ``python experiments/run_all.py --preset quick --replace`` (82
min on a 2-core CPU), whose trained models (``results/runs/``) are not committed. This script
rewrites only what can be rewritten from the committed files themselves, with the package's own
report code:

- the conventional baseline's reports (``results/baseline/<hash>/metrics.{csv,json,md}``,
  :func:`d2tl.baseline.refresh.refresh_reports`): the best conventional baseline chosen on
  validation, then scored on the test and external sets (docs/paper-readings.md);
- ``SUMMARY.md``'s "Reading the numbers" block, from ``run_all.json``'s sections and the
  refreshed baseline (:func:`d2tl.reporting.summary.reading_guide_markdown`).

No classifier is refitted and no network trained; every number other than the choice of the
best baseline stays as the run wrote it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2tl.atomic import write_text  # noqa: E402
from d2tl.baseline.external import best_external_baseline  # noqa: E402
from d2tl.baseline.refresh import refresh_reports  # noqa: E402
from d2tl.errors import D2TLError  # noqa: E402
from d2tl.reporting.summary import reading_guide_markdown  # noqa: E402

GUIDE = "## Reading the numbers"


def refresh_summary_guide(results: Path) -> None:
    """Replace SUMMARY.md's reading guide with the one the current code writes."""
    summary, record = results / "SUMMARY.md", json.loads((results / "run_all.json").read_text())
    text = summary.read_text()
    start = text.index(GUIDE)
    end = text.index("\n## ", start + len(GUIDE)) + 1
    guide = reading_guide_markdown(record["dataset"], record["sections"],
                                   {"best_external": best_external_baseline(results / "baseline")})
    write_text(summary, text[:start] + "\n".join(guide) + "\n" + text[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="the results folder (default results)")
    args = parser.parse_args(argv)
    results = Path(args.results)
    try:
        latest = results / "baseline" / (results / "baseline" / "LATEST").read_text().strip()
        refresh_reports(latest)
        refresh_summary_guide(results)
    except (OSError, ValueError, D2TLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"refreshed {latest} and {results / 'SUMMARY.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
