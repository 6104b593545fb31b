"""``python -m d2tl benchmark`` (``experiments/benchmark.py``): training throughput (own path vs bare train_on_batch), model FLOP utilisation,
semi-tune through cached backbone features, data preparation vs an epoch, peak memory.

    python experiments/benchmark.py                      # 128 and 256 px, synthetic data (about 15 min on 2 CPUs)
    python experiments/benchmark.py --sizes 75 --parts throughput,semi
    KERAS_BACKEND=jax python experiments/benchmark.py --out results/benchmark-jax

Writes ``OUT/benchmark.md`` (the table in the README), ``benchmark.csv`` and ``benchmark.json``
(every number, the machine and provenance). See :mod:`d2tl.studies.benchmark` for what is measured.
"""

from __future__ import annotations

from pathlib import Path

from ..io.errors import D2TLError

PARTS = ("throughput", "semi", "data", "memory")
EPILOG = __doc__


def add_arguments(parser) -> None:
    from .benchmark import Settings
    from ..protocol.options import add_cases, add_out

    defaults = Settings()
    add_cases(parser)
    add_out(parser, "benchmark")
    parser.add_argument("--sizes", default=",".join(map(str, defaults.sizes)), help="input sides for throughput, px")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="timed epochs per path and repeat")
    parser.add_argument("--repeats", type=int, default=defaults.repeats,
                        help="interleaved repeats of the own and bare loops (median and range reported)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--semi-runs", type=int, default=defaults.semi_runs)
    parser.add_argument("--semi-epochs", type=int, default=defaults.semi_epochs)
    parser.add_argument("--semi-size", type=int, default=defaults.semi_size)
    parser.add_argument("--prep-size", type=int, default=defaults.prep_size)
    parser.add_argument("--quick-size", type=int, default=defaults.quick_size)
    parser.add_argument("--weights", default=defaults.weights, help="random (default), imagenet, auto or a file")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")


def run(args) -> int:
    from . import benchmark

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := [p for p in parts if p not in PARTS]:
        raise D2TLError(f"--parts: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if not Path(args.cases).is_file():
        raise D2TLError(f"case table {args.cases} does not exist (python -m d2tl synth writes the synthetic one)")
    try:
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
    except ValueError:
        raise D2TLError(f"--sizes {args.sizes!r}: give comma-separated whole numbers of px") from None
    if any(s < 75 for s in sizes):
        raise D2TLError(f"--sizes {args.sizes}: input sides must be at least 75 px (InceptionV3's minimum)")
    for name in ("epochs", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            raise D2TLError(f"--{name.replace('_', '-')} {getattr(args, name)}: give a whole number >= 1")
    settings = benchmark.Settings(sizes=sizes, epochs=args.epochs, repeats=args.repeats, batch_size=args.batch_size,
                                  semi_runs=args.semi_runs, semi_epochs=args.semi_epochs,
                                  semi_size=args.semi_size, prep_size=args.prep_size,
                                  quick_size=args.quick_size, weights=args.weights)
    try:
        result = benchmark.run(args.cases, settings, log=lambda line: print(line, flush=True), parts=parts)
    except ValueError as exc:
        raise D2TLError(str(exc)) from None
    benchmark.write(result, args.out)
    print(benchmark.markdown(result))
    print(f"written: {args.out}/benchmark.md, benchmark.csv, benchmark.json")
    return 0
