"""docs/gpu.md's memory table: predicted step peaks per configuration, the measured ones beside them.

``python experiments/memory_table.py --measure`` measures the small steps (75 and 128 px, at
most 4 cases; CPU allocator, each in a fresh process) into ``results/memory/measured.json``;
``python experiments/memory_table.py --write docs/gpu.md`` rewrites the table between its
markers from the predictions and that file. Nothing in the table is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import write_text
from .memory import MemoryModel
from .memory_fit import gigabytes, memory_row, parse_size
from .memory_measure import small_config

MEASURED = Path("results/memory/measured.json")
BEGIN, END = "<!-- memory table: python experiments/memory_table.py --write docs/gpu.md -->", "<!-- end memory table -->"
# (architecture, tuning, side, cases): the small steps measured on a CPU
MEASURED_STEPS = [("dual_mode", "full", 75, 2), ("dual_mode", "full", 128, 4), ("simple_pooling", "full", 128, 4),
                  ("dual_mode", "semi", 128, 4)]
# the paper's batch (16 cases) at the sides its presets train
PLANNED_SIDES = (75, 256, 512)
ARCHITECTURES = ("dual_mode", "simple_pooling", "separate")


def key(architecture, tuning, side, cases, precision="float32") -> str:
    return f"{architecture}/{tuning}/{side}/{cases}/{precision}"


def measure(path=MEASURED, steps=MEASURED_STEPS, log=print) -> dict:
    """Measure ``steps`` (each in a fresh process) and write them to ``path``."""
    from .memory_measure import measure_in_subprocess

    found = json.loads(Path(path).read_text()) if Path(path).is_file() else {}
    for step in steps:
        found[key(*step)] = measure_in_subprocess(*step)
        log(f"{key(*step)}: peak {gigabytes(found[key(*step)]['peak'])}")
        write_text(path, json.dumps(found, indent=2, sort_keys=True) + "\n")
    return found


def rows(measured: dict, target: int, memory: MemoryModel | None = None, batch: int = 16) -> list[dict]:
    """The measured small steps, then every architecture and tuning at the paper's batch per side
    and precision."""
    memory = memory or MemoryModel()
    steps = [(*s, "float32") for s in MEASURED_STEPS]
    steps += [(a, t, side, batch, p) for side in PLANNED_SIDES for p in ("float32", "mixed")
              for a in ARCHITECTURES for t in ("full", "semi")]
    out = []
    for step in steps:
        row = memory_row(memory, small_config(*step), target)
        out.append({"step": step, **row, "measured": measured.get(key(*step), {}).get("peak")})
    return out


def markdown(table: list[dict], target: int) -> str:
    """The table's Markdown."""
    size = gigabytes(target).replace(".00", "")
    lines = ["| configuration | input side | batch | micro-batch | predicted peak | measured peak, CPU allocator "
             f"| measured peak, GPU | fits {size} |", "|---|---|---|---|---|---|---|---|"]
    for r in table:
        arch, tuning, side, cases, precision = r["step"]
        micro = "none fits" if r["accumulation"] is None else (
            "-" if r["accumulation"] == 1 else f"{r['accumulation']} x {r['micro_batch']}")
        measured = gigabytes(r["measured"]) if r["measured"] else "-"
        predicted = gigabytes(r["peak_full_batch"]) + ("" if r["fits"] or r["accumulation"] is None
                                                       else f" ({gigabytes(r['peak'])} per micro-batch)")
        lines.append(f"| {arch}, {tuning}-tune, {precision} | {side} px | {cases} | {micro} | {predicted} "
                     f"| {measured} | not measured (no GPU lent) | {'yes' if r['fits'] else 'no'} |")
    return "\n".join(lines)


def write_into(doc, text: str) -> None:
    """Replace the table between the markers of ``doc``."""
    doc = Path(doc)
    body = doc.read_text()
    start, end = body.index(BEGIN) + len(BEGIN), body.index(END)
    write_text(doc, body[:start] + "\n" + text + "\n" + body[end:])


def main(argv=None) -> int:
    import argparse

    from .memory_fit import add_gpu_memory

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="measure the small steps first (minutes)")
    parser.add_argument("--measured", default=str(MEASURED), help="measured peaks (default %(default)s)")
    parser.add_argument("--write", metavar="DOC", help="rewrite the table in DOC between its markers")
    add_gpu_memory(parser)
    args = parser.parse_args(argv)
    target = parse_size(args.gpu_memory)
    found = measure(args.measured) if args.measure else (
        json.loads(Path(args.measured).read_text()) if Path(args.measured).is_file() else {})
    text = markdown(rows(found, target), target)
    if args.write:
        write_into(args.write, text)
    print(text)
    return 0
