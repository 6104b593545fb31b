# SHIM (issue 16): moved to d2tl.model.weights; removed by the coordinator at merge
"""Old import path of :mod:`d2tl.model.weights`."""

from .model.weights import *  # noqa: F401,F403
from .model.weights import IMAGENET_MD5, Weights, check_allowed, file_digest, find_imagenet, identity  # noqa: F401
from .model.weights import imagenet_target, resolve  # noqa: F401
