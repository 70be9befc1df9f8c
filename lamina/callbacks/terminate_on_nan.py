"""``TerminateOnNaN``: stops training on a NaN or infinite loss (``keras.callbacks.TerminateOnNaN``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.utils.progbar import print_msg


class TerminateOnNaN(Callback):
    """Stops training as soon as a training batch reports a NaN or infinite loss.

    It reads the batch's ``loss`` after every training batch, so it waits for
    each step to finish on the device.

    Args:
        raise_error: if True, raise ``RuntimeError`` instead of setting
            ``model.stop_training``.
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: Any = None) -> None:
        if logs is None:
            return
        loss = logs.get("loss")
        if loss is None:
            return
        if np.isnan(loss) or np.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
