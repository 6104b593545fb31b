"""The options several commands share, defined once: name, help text and default (docs/options.md).

Each ``add_*`` adds one option to a parser (or an argument group). An option of this module means
the same in every command that takes it, so its help text and default are the same everywhere;
``tests/test_options.py`` walks every command's parser to hold that. ``--out`` is the one whose
default depends on the command (a data command writes under ``data/``, a results command under
``results/``): those defaults are listed here too, in :data:`OUT_DEFAULTS`.
"""

from __future__ import annotations

from .defaults import DEFAULT_CASES

SEED_HELP = ("seed of this command's own random draws: the data set it writes, the models it fits or "
             "pre-trains (run r of a configuration: seed*1000+r), eq. (1)'s start; never the split, box "
             "shift or augmentation, which have --split-seed, --shift-seed and --augment-seed "
             "(default %(default)s)")
SPLIT_SEED_HELP = "seed of the train/validation/test split (default %(default)s)"
SHIFT_SEED_HELP = "seed of the box shift directions (default %(default)s)"
AUGMENT_SEED_HELP = "seed of the augmented training set (default %(default)s)"
CASES_HELP = "case table CSV to read (default %(default)s, written by python -m d2tl synth)"
PRESET_DEFAULT = "quick"
PRESET_HELP = ("how much work: paper (the paper's protocol; a GPU), quick (default: reduced, for a CPU; "
               "never paper numbers) or smoke (the code path only, where offered); what each sets: "
               "docs/options.md")
OUT_HELP = ("where this command writes: one folder (or, for a command that writes one file, that file) "
            "holding everything it writes, created if missing; its default is named at the end of --help")

# command -> its --out default; text in <> names a place the command derives when --out is omitted
OUT_DEFAULTS = {
    "synth": "data/synthetic",
    "rois": "<required>",
    "show-cases": "results/figures/synthetic_cases.png",
    "cdd-cesm": "data/cdd-cesm/cases.csv",
    "from-dicom": "<required>",
    "train": "results/train",
    "predict": "<predictions-CASES.csv beside the model>",
    "baseline": "results/baseline",
    "explain": "<explain/ID beside the model>",
    **{name: "results" for name in ("box-size", "box-shift", "pooling", "tuning", "random-init", "run-all")},
    "interpretation": "<results/interpretation/PRESET>",
    "data-scaling": "results/data_scaling",
    "transfer": "results/transfer",
    "benchmark": "results/benchmark",
}


def _int(parser, flag: str, help_text: str, default: int = 0):
    return parser.add_argument(flag, type=int, default=default, help=help_text)


def add_seed(parser):
    """``--seed``: the command's own random draws (docs/options.md)."""
    return _int(parser, "--seed", SEED_HELP)


def add_split_seed(parser):
    return _int(parser, "--split-seed", SPLIT_SEED_HELP)


def add_shift_seed(parser):
    return _int(parser, "--shift-seed", SHIFT_SEED_HELP)


def add_augment_seed(parser):
    return _int(parser, "--augment-seed", AUGMENT_SEED_HELP)


def add_cases(parser):
    """``--cases``: the case table the command reads."""
    return parser.add_argument("--cases", default=DEFAULT_CASES, help=CASES_HELP)


def add_preset(parser, choices):
    """``--preset`` (default quick in every command); ``choices``: the presets this command offers."""
    return parser.add_argument("--preset", default=PRESET_DEFAULT, choices=sorted(choices), help=PRESET_HELP)


def add_out(parser, command: str, layout: str = ""):
    """``--out``: where ``command`` writes. The default is the command's place in
    :data:`OUT_DEFAULTS`; a place in ``<>`` is derived by the command (``None`` here) or required.
    ``layout`` (what the command writes inside it) is shown beside the default at the end of --help."""
    place = OUT_DEFAULTS[command]
    required, derived = place == "<required>", place.startswith("<")
    line = "--out: required" if required else f"--out default: {place.strip('<>')}"
    _note_default(parser, f"{line}; {layout}" if layout else line)
    return parser.add_argument("--out", default=None if derived else place, required=required, help=OUT_HELP)


def _note_default(parser, line: str) -> None:
    """Name the command's own default at the end of its ``--help`` (its epilog)."""
    if hasattr(parser, "epilog"):  # an argument group has none
        parser.epilog = f"{parser.epilog}\n\n{line}" if parser.epilog else line


SHARED = {"--seed": SEED_HELP, "--split-seed": SPLIT_SEED_HELP, "--shift-seed": SHIFT_SEED_HELP,
          "--augment-seed": AUGMENT_SEED_HELP, "--cases": CASES_HELP, "--preset": PRESET_HELP, "--out": OUT_HELP}
