"""``python -m d2tl train``: its options, the configuration they give, and the command.

The configuration starts from the preset's (:func:`d2tl.training.config.preset_base`, as every section
does), so the same preset gives the same configuration hash from either.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import ExperimentConfig
from ..data.cases import load_cases
from ..protocol.defaults import missing_cases_hint
from ..io.errors import D2TLError
from .experiment import FINISHED, run_experiment
from .lease import DEFAULT_LEASE


def log_to_stdout(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()


def add_arguments(parser) -> None:
    from .config import BN_STATS, OPTIMIZERS, SCHEDULES
    from .execution import PRECISIONS, STRATEGIES
    from ..model import ARCHITECTURES, FROZEN_BN, TUNINGS
    from ..protocol.presets import PRESETS

    from ..protocol.options import add_augment_seed, add_cases, add_out, add_preset, add_seed, add_shift_seed, add_split_seed

    add_cases(parser)
    add_preset(parser, PRESETS)
    add_out(parser, "train")  # one sub-folder per configuration, named by its hash
    g = parser.add_argument_group("model")
    g.add_argument("--architecture", default="dual_mode", choices=ARCHITECTURES)
    g.add_argument("--tuning", default="full", choices=TUNINGS, help="full: all layers; semi: the 3 dense layers")
    g.add_argument("--weights",
                   help="imagenet, random, fractal (InceptionV3 pre-trained by python -m d2tl pretrain), a weights "
                        "file, or auto (reduced presets only: ImageNet if available, else random, said loudly); "
                        "preset's if omitted (paper: imagenet, others: auto)")
    g.add_argument("--imagenet-md5", help="expected MD5 of the ImageNet file (default: Keras's published hash)")
    g.add_argument("--frozen-bn", default="inference", choices=FROZEN_BN,
                   help="semi-tune's frozen BatchNormalization: inference (Keras 3, moving statistics "
                        "throughout) or keras2 (batch statistics in fit, as the paper's Keras 2; trains end to end)")
    g.add_argument("--feature-dropout", type=float, default=0.5)
    g.add_argument("--head-dropout", type=float, default=0.5)
    g = parser.add_argument_group("boxes")
    g.add_argument("--box", type=int, default=256, help="box side, full-resolution px")
    g.add_argument("--shift", type=float, default=0.0, help="box centre shift, full-resolution px")
    add_shift_seed(g)
    g.add_argument("--input-scale", type=float, help="model input side / box side (preset's if omitted)")
    g = parser.add_argument_group("training")
    g.add_argument("--runs", type=int, help="runs (preset's if omitted)")
    g.add_argument("--epochs", type=int, help="epochs per run (preset's if omitted)")
    g.add_argument("--batch-size", type=int, help="cases per step (preset's if omitted)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="preset's if omitted")
    g.add_argument("--lr", "--learning-rate", dest="lr", type=float, help="learning rate (preset's if omitted)")
    g.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (preset's if omitted)")
    g.add_argument("--bn-stats", choices=BN_STATS, help="BatchNormalization statistics for validation, test and "
                   "the saved model: moving (Keras's running averages) or precise (re-estimated on the "
                   "training set after every epoch); preset's if omitted")
    g.add_argument("--bn-samples", type=int, help="augmented training samples of the precise-BN pass "
                   "(0 = all; preset's if omitted)")
    g.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard logs (loss, accuracy, validation "
                   "loss and accuracy per epoch) to DIR/<configuration hash>/run_NN; view with "
                   "tensorboard --logdir DIR")
    g.add_argument("--lease", type=float, default=DEFAULT_LEASE,
                   help="seconds after its holder's last renewal that a configuration's lock is taken over "
                        "(d2tl/training/lease.py; default %(default)g)")
    add_seed(g)  # run r uses seed*1000+r
    add_split_seed(g)
    add_augment_seed(g)
    g.add_argument("--alternatives", type=int, help="augmented alternatives per image (paper: 5; preset's if omitted)")
    g = parser.add_argument_group("execution (see docs/gpu.md)")
    g.add_argument("--precision", default="float32", choices=list(PRECISIONS),
                   help="float32 (default); mixed: float16 compute, float32 variables, loss scaling; "
                        "bfloat16: bfloat16 compute, float32 variables")
    g.add_argument("--jit", action="store_true",
                   help="XLA-compiled training steps (TensorFlow; needs --nondeterministic there). "
                        "Under KERAS_BACKEND=jax steps are always jitted")
    g.add_argument("--nondeterministic", action="store_true",
                   help="allow non-deterministic (faster) TensorFlow kernels; reruns may then differ")
    g.add_argument("--strategy", default="none", choices=list(STRATEGIES),
                   help="mirrored: tf.distribute.MirroredStrategy over all visible GPUs of this host "
                        "(TensorFlow only; --batch-size stays the global batch)")
    from .memory_fit import add_gpu_memory

    add_gpu_memory(g)


def config_from_args(args) -> ExperimentConfig:
    """The preset's default configuration (:func:`d2tl.training.config.preset_base`, as every section
    starts from) with the options given on the command line."""
    from .config import preset_base
    from ..protocol.presets import preset

    settings = preset(args.preset)
    for key, value in (("input_scale", args.input_scale), ("runs", args.runs), ("epochs", args.epochs),
                       ("batch_size", args.batch_size), ("learning_rate", args.lr), ("optimizer", args.optimizer),
                       ("schedule", args.schedule), ("bn_stats", args.bn_stats), ("bn_samples", args.bn_samples),
                       ("alternatives", args.alternatives), ("weights", args.weights)):
        if value is not None:
            settings[key] = value
    base = preset_base(settings, args.preset, {"precision": args.precision, "jit_compile": args.jit,
                                               "deterministic": not args.nondeterministic})
    return base.replace(
        model={"architecture": args.architecture, "tuning": args.tuning, "feature_dropout": args.feature_dropout,
               "head_dropout": args.head_dropout, "frozen_bn": args.frozen_bn},
        roi={"box": args.box, "shift": args.shift}, train={"seed": args.seed},
        split_seed=args.split_seed, shift_seed=args.shift_seed, augment_seed=args.augment_seed)


def run(args) -> int:
    from .arg_checks import check_args

    if not Path(args.cases).is_file():
        hint = missing_cases_hint(args.cases)
        raise D2TLError(f"case table {args.cases} does not exist{hint}")
    check_args(args)  # every option, --out and a --weights file, before any work
    from .memory_fit import fit_for_command

    config = fit_for_command(config_from_args(args), args.gpu_memory, log_to_stdout)  # before any work
    from .execution import check_support, distribution

    with distribution(args.strategy):
        check_support(config.train)  # before the data are prepared
        table, rois = load_cases(args.cases), None
        from ..model.weights import IMAGENET_MD5
        from .run_folder import resolve_weights, run_folder

        md5 = args.imagenet_md5 or IMAGENET_MD5
        weights = resolve_weights(config.model.weights, md5, locate=False)  # names the folder
        if not (run_folder(config, weights, args.cases, args.out) / FINISHED).is_file():
            from ..data.roi_cache import RoiCache

            weights = resolve_weights(config.model.weights, md5).require()  # refuses before the ROIs are cut
            rois = RoiCache(Path(args.out) / "cache" / "rois", args.cases, table, log=log_to_stdout).get(
                config.roi, config.shift_seed)
        metrics = run_experiment(config, args.cases, args.out, weights, log=log_to_stdout, table=table, rois=rois,
                                 lease=args.lease, tensorboard=args.tensorboard)
    print(f"results: {metrics['directory']}")
    return 0
