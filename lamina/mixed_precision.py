"""Dtype policies and loss scaling, as ``keras.mixed_precision``."""

from lamina.dtype_policy import DTypePolicy, global_policy, set_global_policy
from lamina.dtype_policy import get as get_policy
from lamina.optimizers.loss_scale import LossScaleOptimizer

Policy = DTypePolicy
dtype_policy = global_policy
set_dtype_policy = set_global_policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "get_policy",
           "global_policy", "set_dtype_policy", "set_global_policy"]
