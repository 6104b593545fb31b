"""``python -m d2tl cdd-cesm``: its options and what it prints."""

from __future__ import annotations

from pathlib import Path

from .build import Sources, _progress, build_cases
from .options import (ALIGN_MODES, BuildOptions, CM_FOLDER, DUPLICATE_RULES, LABEL_RULES, LE_FOLDER,
                      MASK_REGIONS, OUTLINE_SOURCES, REGION_RULES)


def add_arguments(parser) -> None:
    parser.add_argument("--root", required=True, help="the downloaded CDD-CESM folder (searched recursively "
                        f"for '{LE_FOLDER}', '{CM_FOLDER}', the annotation spreadsheet and the segmentation CSV)")
    from ....protocol.options import add_out

    add_out(parser, "cdd-cesm")
    parser.add_argument("--label-rule", choices=LABEL_RULES, default="any",
                        help="breast label from its images' pathology: any = malignant if any image is, else "
                             "benign if any is; subtracted = the same on CM images only; all = all four agree "
                             "(default %(default)s)")
    parser.add_argument("--region", choices=REGION_RULES, default="largest",
                        help="which outline of an image gives the box centre (default %(default)s)")
    parser.add_argument("--duplicates", choices=DUPLICATE_RULES, default="first",
                        help="of several files for one image: first = without copy number, last = highest copy "
                             "number (default %(default)s)")
    parser.add_argument("--outline-source", choices=OUTLINE_SOURCES, default="cm",
                        help="cm = outlines of the CM image only; cm-then-dm = fall back to the DM image's "
                             "outline (default %(default)s)")
    parser.add_argument("--mask-regions", choices=MASK_REGIONS, default="chosen",
                        help="lesion mask from the chosen outline or from all outlines of the image (default %(default)s)")
    parser.add_argument("--point-radius", type=float, default=10.0,
                        help="radius in px of the disc mask a point annotation gets (default %(default)s)")
    parser.add_argument("--align", choices=ALIGN_MODES, default="register",
                        help="register = move each DM image into its CM image's frame (written as PNG); none = "
                             "use the JPEGs as they are, leaving out views whose sizes differ (default %(default)s)")
    parser.add_argument("--annotations", help="the annotation spreadsheet, if not found under --root")
    parser.add_argument("--segmentations", help="the segmentation CSV, if not found under --root")
    parser.add_argument("--low-energy-dir", help=f"the '{LE_FOLDER}' folder, if not found under --root")
    parser.add_argument("--subtracted-dir", help=f"the '{CM_FOLDER}' folder, if not found under --root")


def run(args) -> int:
    from ....io import checks

    checks.number("--point-radius", args.point_radius, low=0, low_open=True, high=1000)
    checks.output_file("--out", args.out, "case table")
    options = BuildOptions(label_rule=args.label_rule, region=args.region, duplicates=args.duplicates,
                           outline_source=args.outline_source, mask_regions=args.mask_regions,
                           point_radius=args.point_radius, align=args.align)
    sources = Sources.locate(args.root, args.annotations, args.segmentations, args.low_energy_dir,
                             args.subtracted_dir)
    table, report = build_cases(sources, args.out, options, progress=_progress)
    c, s = report["cases"], report["spreadsheet"]
    print(f"wrote {args.out}: {c['n']} cases ({', '.join(f'{k} {v}' for k, v in c['labels'].items())}) "
          f"from {c['persons']} persons")
    print(f"spreadsheet: {s['breasts']} breasts, {s['breasts_with_four_images_listed']} with four images listed "
          f"({', '.join(f'{k} {v}' for k, v in s['labels_of_four_image_breasts'].items() if v)})")
    left = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report["left_out_counts"].items() if v)
    print(f"left out: {left or 'none'}")
    print(f"report: {Path(args.out).with_name(Path(args.out).stem + '-report.md')}")
    return 0
