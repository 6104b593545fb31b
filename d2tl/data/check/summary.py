"""check-data's printed summary: counts, sizes, bit depths, conventions, then every problem."""

from __future__ import annotations

from .integrity import CheckResult


def format_summary(result: CheckResult, cases_csv) -> str:
    s = result.summary
    lines = [f"check-data {cases_csv}",
             f"cases: {s['cases']} (" + ", ".join(f"{k} {v}" for k, v in s["labels"].items())
             + (f", invalid label {s['invalid_labels']}" if s["invalid_labels"] else "") + ")",
             f"persons: {s['persons']} ({s['persons_with_several_cases']} with several cases, "
             f"{s['persons_with_both_labels']} with both labels)",
             "laterality: " + ", ".join(f"{k} {v}" for k, v in s["laterality"].items()),
             "scale: " + ", ".join(s["scale"])]
    for key, sizes in s["image_sizes"].items():
        shown = ", ".join(f"{size} x{n}" for size, n in list(sizes.items())[:4])
        more = f", ... {len(sizes) - 4} more sizes" if len(sizes) > 4 else ""
        lines.append(f"{key}: {shown}{more}; " + ", ".join(f"{b} x{n}" for b, n in s["bit_depths"].get(key, {}).items()))
    lines.append(f"views with a lesion mask: {s['views_with_mask']}; views with HE instead of recombined: "
                 f"{s['views_from_high_energy']}")
    from .dicom_conventions import format_conventions

    lines += format_conventions(s)
    if "split" in s:
        lines.append("split: " + "; ".join(f"{p} " + ", ".join(f"{k} {v}" for k, v in c.items())
                                           for p, c in s["split"].items()))
    if "left_out_by_adapter" in s:
        left = {k: v for k, v in s["left_out_by_adapter"].items() if k != "report"}
        lines.append("left out by the adapter: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in left.items())
                     + f" (see {s['left_out_by_adapter']['report']})")
    if result.skipped:
        lines.append(f"checks skipped: {len(result.skipped)}")
        lines += [f"  - {item}" for item in result.skipped]
    else:
        lines.append("checks skipped: none")
    if result.notes:
        lines.append(f"accepted (--allow-two-labels-per-breast), not problems: {len(result.notes)}")
        lines += [f"  - {note}" for note in result.notes]
    if result.problems:
        lines.append(f"{len(result.problems)} problem(s):")
        lines += [f"  - {p}" for p in result.problems]
    else:
        lines.append("no problems found")
    return "\n".join(lines)
