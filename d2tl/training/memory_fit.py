"""A configuration fitted to a target memory (``--gpu-memory``, default 8 GB: the paper's GTX 1080).

A configuration whose predicted step (:mod:`d2tl.training.memory`) exceeds the target keeps its
batch, the effective batch of every update, and trains it as k micro-batches of batch/k cases
with their gradients averaged (``TrainConfig.accumulation``; Keras's gradient accumulation,
:mod:`d2tl.training.optimizers`): the smallest k dividing the batch that fits. A configuration
that fits is returned unchanged, so its hash is too. One that fits at no k is refused before
any training: a long run never ends in an out-of-memory error.
"""

from __future__ import annotations

import re

from ..io.errors import D2TLError

DEFAULT_GPU_MEMORY = "8GB"
OPTION = "--gpu-memory"
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)?", re.IGNORECASE)


def parse_size(text, option: str = OPTION) -> int:
    """Bytes of a size such as ``8GB`` (10^9), ``24GiB`` (2^30) or ``80GB``; a bad value is a
    one-line error naming ``option``."""
    match = SIZE.fullmatch(str(text).strip())
    if not match or float(match.group(1)) <= 0:
        raise D2TLError(f"{option} {text!r}: not a memory size; give a positive number with a unit, "
                        "e.g. 8GB, 24GiB, 80GB")
    return int(float(match.group(1)) * UNITS[(match.group(2) or "").upper()])


def add_gpu_memory(parser) -> None:
    """The ``--gpu-memory`` option (text; :func:`parse_size` checks it before any work)."""
    parser.add_argument(OPTION, default=DEFAULT_GPU_MEMORY, metavar="SIZE",
                        help="memory of the GPU to fit a training step into (e.g. 8GB, 24GiB, 80GB; default "
                             "%(default)s, the paper's GTX 1080): a configuration over it trains its batch as "
                             "micro-batches with gradient accumulation (docs/gpu.md)")


def gigabytes(n: int) -> str:
    return f"{n / 10**9:.2f} GB"


def divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def accumulation_for(memory, config, target: int) -> int | None:
    """The fewest micro-batches (a divisor of the batch) whose step fits ``target`` bytes; None
    when even one case per micro-batch does not."""
    batch = config.train.batch_size
    for k in divisors(batch):
        if memory.step(config, batch // k, k).total <= target:
            return k
    return None


def fit(memory, config, target: int, strict: bool = True):
    """``config`` unchanged when its step fits ``target``, else with the accumulation that fits;
    when none does, an error (before any training), or with ``strict`` false (plans) one case
    per micro-batch."""
    k = accumulation_for(memory, config.replace(train={"accumulation": 1}), target)
    if k is None and not strict:
        k = config.train.batch_size
    if k is None:
        smallest = memory.step(config, 1, config.train.batch_size).total
        raise D2TLError(f"{config.model.architecture} {config.model.tuning}-tune at {config.model.input_size} px "
                        f"needs {gigabytes(smallest)} even at 1 case per micro-batch, over {OPTION} "
                        f"{gigabytes(target)}: give a larger {OPTION} or a smaller input")
    return config if k == config.train.accumulation else config.replace(train={"accumulation": k})


def memory_row(memory, config, target: int) -> dict:
    """What a plan shows for ``config``: its batch, micro-batch, predicted peak at the full batch
    and at the micro-batch it trains with, and whether the full batch fits ``target``."""
    full = memory.step(config, config.train.batch_size, 1).total
    k = accumulation_for(memory, config.replace(train={"accumulation": 1}), target)
    used = memory.step(config, config.train.batch_size // k, k).total if k else full
    return {"batch": config.train.batch_size, "accumulation": k, "micro_batch": config.train.batch_size // k
            if k else None, "peak_full_batch": full, "peak": used, "target": target, "fits": full <= target}


def memory_text(row: dict) -> str:
    """``peak 6.55 GB, fits 8.00 GB`` or ``peak 26.23 GB > 8.00 GB: 8 x 2 cases, 7.34 GB``."""
    if row["fits"]:
        return f"peak {gigabytes(row['peak'])}, fits {gigabytes(row['target'])}"
    if row["accumulation"] is None:
        return f"peak {gigabytes(row['peak_full_batch'])} > {gigabytes(row['target'])}: fits at no micro-batch"
    return (f"peak {gigabytes(row['peak_full_batch'])} > {gigabytes(row['target'])}: "
            f"{row['accumulation']} x {row['micro_batch']} cases, {gigabytes(row['peak'])}")


def fit_for_command(config, gpu_memory: str, log=print):
    """``python -m d2tl train``'s configuration fitted to ``--gpu-memory`` (:func:`fit`), said in
    one line."""
    from .memory import MemoryModel

    target = parse_size(gpu_memory)
    memory = MemoryModel()
    log(f"memory: {memory_text(memory_row(memory, config, target))} (predicted per training step, "
        "d2tl/training/memory.py)")
    return fit(memory, config, target)
