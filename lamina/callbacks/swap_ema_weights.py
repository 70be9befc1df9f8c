"""``SwapEMAWeights``: evaluates (and optionally checkpoints) with the optimizer's moving
averages of the weights (``keras.callbacks.SwapEMAWeights``)."""

from __future__ import annotations

from lamina.callbacks.callback import Callback


def _ema_optimizers(optimizer) -> list:
    """The optimizers (inner ones of a MultiOptimizer or LossScaleOptimizer) that keep
    moving averages; ValueError when none does or they are not built yet."""
    from lamina.optimizers.loss_scale import LossScaleOptimizer
    from lamina.optimizers.multi_optimizer import MultiOptimizer

    if isinstance(optimizer, LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    if isinstance(optimizer, MultiOptimizer):
        found = [opt for opt in optimizer.optimizers if opt.use_ema]
        if not found:
            raise ValueError("SwapEMAWeights must be used when at least one inner optimizer "
                             "has `use_ema=True` set. Received a MultiOptimizer with all "
                             "inner optimizers having `use_ema=False`.")
    elif optimizer is None or not optimizer.use_ema:
        raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                         "optimizer. Received: use_ema="
                         f"{getattr(optimizer, 'use_ema', None)} (optimizer {optimizer!r}).")
    else:
        found = [optimizer]
    for opt in found:
        if not opt.built:
            raise ValueError(f"SwapEMAWeights: optimizer '{opt.name}' is not built yet, so it "
                             "holds no moving averages; train the model (or call "
                             "`optimizer.build(model.trainable_variables)`) first.")
    return found


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's exponential moving averages
    (``use_ema=True``) around evaluation and prediction, and swaps back after.

    Args:
        swap_on_epoch: also put the averages into the model at the end of each epoch
            (so callbacks after this one, e.g. a checkpoint, see them) and take them out
            at the start of the next; after the last epoch the model keeps them.

    Unlike Keras 3.15 (which leaves the averages in the model after ``predict``),
    the weights are swapped back when prediction ends.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _swap(self) -> None:
        for opt in _ema_optimizers(self.model.optimizer):
            state = opt.state
            averages = list(state["average"])
            for i, (var, average) in enumerate(zip(opt._trainable_variables, averages)):
                if average is None:  # a variable the optimizer keeps no average of
                    continue
                averages[i] = var.value
                var.assign(average)
            opt.state = {**state, "average": averages}

    def _finalize(self) -> None:
        """Makes the averages equal to the (averaged) weights now in the model."""
        for opt in _ema_optimizers(self.model.optimizer):
            state = opt.state
            averages = [None if avg is None else var.value
                        for var, avg in zip(opt._trainable_variables, state["average"])]
            opt.state = {**state, "average": averages}

    def _put_averages_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _take_averages_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None) -> None:
        if self.swap_on_epoch:
            self._take_averages_out()

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._put_averages_in()
            if epoch == self.params["epochs"] - 1:
                self._finalize()

    def on_test_begin(self, logs=None) -> None:
        self._put_averages_in()

    def on_test_end(self, logs=None) -> None:
        self._take_averages_out()

    def on_predict_begin(self, logs=None) -> None:
        self._put_averages_in()

    def on_predict_end(self, logs=None) -> None:
        self._take_averages_out()
