"""``python -m d2tl check-data``: its options and its exit status (0 clean, 1 problems)."""

from __future__ import annotations

import sys

from .integrity import DEFAULT_TOLERANCE, check_cases
from .summary import format_summary


def add_arguments(parser) -> None:
    parser.add_argument("cases", help="case table (CSV) to check")
    parser.add_argument("--split", help="split CSV (id, part) to check for persons in two parts")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="how far (full-resolution px) a box centre may be from the breast (default %(default)s)")
    parser.add_argument("--mixed-intent", action="store_true",
                        help="accept FOR PROCESSING and FOR PRESENTATION images in one data set")
    parser.add_argument("--allow-two-labels-per-breast", action="store_true",
                        help="accept one breast (person and laterality) in cases with different labels, "
                             "i.e. two lesions of one breast; they are listed, not counted as problems")


def run(args) -> int:
    from ...io import checks

    checks.number("--tolerance", args.tolerance, low=0, high=checks.MAX_BOX, why="full-resolution px")
    if args.split is not None:
        checks.input_file("--split", args.split, "split CSV")
    result = check_cases(args.cases, args.split, args.tolerance,
                         progress=lambda m: print(m, file=sys.stderr, flush=True), allow_mixed_intent=args.mixed_intent,
                         allow_two_labels_per_breast=args.allow_two_labels_per_breast)
    print(format_summary(result, args.cases))
    return 0 if result.clean else 1
