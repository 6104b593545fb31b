"""Apply a change in how results are reported to the committed results, without retraining.

    python experiments/refresh_committed_results.py                    # every step, results/
    python experiments/refresh_committed_results.py portable --skip results/pretrain-compare

The committed results come from ``python experiments/run_all.py --preset quick --replace`` (82
min on a 2-core CPU), whose trained models (``results/runs/``) are not committed. This script
rewrites only what can be rewritten from the committed files themselves, with the package's own
code. Steps:

``baseline``
    the conventional baseline's reports (``results/baseline/<hash>/metrics.{csv,json,md}``,
    :func:`d2tl.baseline.refresh.refresh_reports`): the best conventional baseline chosen on
    validation, then scored on the test and external sets (docs/paper-readings.md); and
    ``SUMMARY.md``'s "Reading the numbers" block, from ``run_all.json``'s sections and the
    refreshed baseline (:func:`d2tl.reporting.summary.reading_guide_markdown`).
``portable``
    every committed text file under the results folder (``git ls-files``) with the paths of
    this machine rewritten as the writers now write them (:func:`d2tl.io.provenance.portable`:
    relative to the checkout, ``~`` for the home folder); ``--skip PREFIX`` leaves a folder as
    it is (one whose owner regenerates it).

No classifier is refitted and no network trained; every number stays as the run wrote it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2tl.io.atomic import write_text  # noqa: E402
from d2tl.baseline.external import best_external_baseline  # noqa: E402
from d2tl.baseline.refresh import refresh_reports  # noqa: E402
from d2tl.io.errors import D2TLError  # noqa: E402
from d2tl.io.provenance import portable  # noqa: E402
from d2tl.reporting.summary import reading_guide_markdown  # noqa: E402

GUIDE = "## Reading the numbers"
STEPS = ("baseline", "portable")
TEXT = (".md", ".csv", ".json", ".txt", "")


def refresh_summary_guide(results: Path) -> None:
    """Replace SUMMARY.md's reading guide with the one the current code writes."""
    summary, record = results / "SUMMARY.md", json.loads((results / "run_all.json").read_text())
    text = summary.read_text()
    start = text.index(GUIDE)
    end = text.index("\n## ", start + len(GUIDE)) + 1
    guide = reading_guide_markdown(record["dataset"], record["sections"],
                                   {"best_external": best_external_baseline(results / "baseline")})
    write_text(summary, text[:start] + "\n".join(guide) + "\n" + text[end:])


def refresh_baseline(results: Path) -> None:
    """The ``baseline`` step (module docstring)."""
    latest = results / "baseline" / (results / "baseline" / "LATEST").read_text().strip()
    refresh_reports(latest)
    refresh_summary_guide(results)


def make_portable(results: Path, skip: list[str]) -> list[Path]:
    """The ``portable`` step (module docstring); returns the files it changed."""
    listed = subprocess.run(["git", "ls-files", "--", str(results)], capture_output=True, text=True,
                            check=True).stdout.split()
    changed = []
    for name in listed:
        path = Path(name)
        if path.suffix not in TEXT or any(name.startswith(prefix) for prefix in skip) or not path.is_file():
            continue
        text = path.read_text()
        if portable(text) != text:
            write_text(path, portable(text))
            changed.append(path)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", nargs="*", metavar="STEP",
                        help=f"{', '.join(STEPS)} (default: all, in this order)")
    parser.add_argument("--results", default="results", help="the results folder (default results)")
    parser.add_argument("--skip", action="append", default=[], metavar="PREFIX",
                        help="portable: leave committed files under this path prefix as they are (repeatable)")
    args = parser.parse_args(argv)
    unknown = [step for step in args.steps if step not in STEPS]
    if unknown:
        parser.error(f"unknown step {unknown[0]!r}; choose from {', '.join(STEPS)}")
    results = Path(args.results)
    try:
        if "baseline" in (args.steps or STEPS):
            refresh_baseline(results)
            print(f"refreshed the baseline reports and {results / 'SUMMARY.md'}")
        if "portable" in (args.steps or STEPS):
            changed = make_portable(results, args.skip)
            print(f"made {len(changed)} files portable: " + ", ".join(p.as_posix() for p in changed))
    except (OSError, ValueError, subprocess.CalledProcessError, D2TLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
