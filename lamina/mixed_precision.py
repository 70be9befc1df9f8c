"""Dtype policies, as ``keras.mixed_precision``."""

from lamina.dtype_policy import DTypePolicy, global_policy, set_global_policy
from lamina.dtype_policy import get as get_policy

Policy = DTypePolicy
dtype_policy = global_policy
set_dtype_policy = set_global_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "get_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
