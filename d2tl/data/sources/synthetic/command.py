"""``python -m d2tl synth``: its options and what it prints."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .config import SynthConfig, case_labels
from .dataset import write_dataset


def add_arguments(parser) -> None:
    from ....protocol.options import add_out, add_seed

    d = SynthConfig()
    add_out(parser, "synth")
    parser.add_argument("--n", type=int, default=d.n_cases, help="number of cases (default: %(default)s)")
    parser.add_argument("--malignant-fraction", type=float, default=d.malignant_fraction,
                        help="fraction of malignant cases (default: %(default)s)")
    add_seed(parser)  # the generator's seed (docs/options.md)
    parser.add_argument("--scale", type=float, default=d.scale,
                        help="image px per full-resolution 0.07 mm px; 1 = 3328x2560 (default: %(default)s)")
    parser.add_argument("--difficulty", type=float, default=d.difficulty,
                        help="0 = class features always typical, 1 = independent of the label (default: %(default)s)")
    parser.add_argument("--placement-jitter", type=float, default=d.placement_jitter,
                        help="SD of the box-centre error per axis, full-resolution px (default: %(default)s)")
    parser.add_argument("--size-range", type=float, nargs=2, metavar=("MIN", "MAX"), default=d.size_range,
                        help="lesion long side, full-resolution px (default: %(default)s; the paper's boxes are "
                             "128-512)")
    parser.add_argument("--enhancement-depth", type=float, default=None, metavar="CM",
                        help="render a lesion's iodine as concentration x CM instead of x its path length, so "
                             "that its contrast follows its enhancement, not its size (default: the path)")
    parser.add_argument("--write-he", action="store_true", help="also write the high-energy images")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--workers", type=int, default=0,
                        help="parallel processes (default: 0 = up to 4, one per CPU core)")


def run(args) -> int:
    from ....io import checks

    checks.count("--n", args.n, low=1, high=checks.MAX_COUNT)
    checks.number("--malignant-fraction", args.malignant_fraction, low=0, high=1)
    checks.count("--seed", args.seed, low=0, high=2**32 - 1)
    checks.number("--scale", args.scale, low=0, low_open=True, high=1, why="1 = full resolution")
    checks.number("--difficulty", args.difficulty, low=0, high=1)
    checks.number("--placement-jitter", args.placement_jitter, low=0, high=checks.MAX_BOX)
    checks.count("--workers", args.workers, low=0, high=256)
    checks.number("--size-range MIN", args.size_range[0], low=10, high=1400, why="full-resolution px")
    checks.number("--size-range MAX", args.size_range[1], low=args.size_range[0], high=1400,
                  why="full-resolution px, at least MIN")
    checks.number("--enhancement-depth", args.enhancement_depth, low=0, low_open=True, high=10, why="cm")
    checks.output_folder("--out", args.out, "data set folder")
    config = SynthConfig(n_cases=args.n, malignant_fraction=args.malignant_fraction, seed=args.seed,
                         scale=args.scale, difficulty=args.difficulty, placement_jitter=args.placement_jitter,
                         write_he=args.write_he, size_range=tuple(args.size_range),
                         enhancement_depth_cm=args.enhancement_depth)
    workers = args.workers or min(4, os.cpu_count() or 1)
    existing = Path(args.out) / "dataset.json"
    if not args.overwrite and existing.is_file() and (Path(args.out) / "cases.csv").is_file():
        try:
            same = json.loads(existing.read_text()).get("config") == json.loads(json.dumps(config.to_dict()))
        except json.JSONDecodeError:
            same = False
        if same:
            print(f"{args.out}/ already holds this data set (same configuration); nothing to do "
                  f"(--overwrite to write it again)")
            print(f"case table: {Path(args.out) / 'cases.csv'}")
            return 0
    start = time.perf_counter()
    csv = write_dataset(config, args.out, overwrite=args.overwrite, workers=workers)
    seconds = time.perf_counter() - start
    folder = csv.parent
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    labels = case_labels(config)
    rows, cols = config.image_shape
    print(f"wrote {config.n_cases} cases ({labels.count('malignant')} malignant, {labels.count('benign')} benign), "
          f"{rows}x{cols} px at {config.pixel_mm:.3g} mm, to {folder}/ ({size / 1e6:.1f} MB) "
          f"in {seconds:.1f} s with {workers} process(es)")
    print(f"case table: {csv}")
    return 0
