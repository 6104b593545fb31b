# SHIM (issue 16): moved to d2tl.model.flops; removed by the coordinator at merge
"""Old import path of :mod:`d2tl.model.flops`."""

from .model.flops import *  # noqa: F401,F403
from .model.flops import TRAIN_FACTOR, forward_flops, matmul_rate, train_flops_per_sample  # noqa: F401
