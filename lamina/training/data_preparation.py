"""How ``fit``/``evaluate``/``predict`` arguments become validated data.

Arrays, lists and dicts are checked against the model's inputs and outputs
before the first step (``ValueError`` naming the input or output); class
weights become per-sample weights; anything else is streamed.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from lamina import user_frames
from lamina.graph import flatten
from lamina.training import data as data_mod
from lamina.training import data_checks
from lamina.training.steps import StepMethods, flat_outputs

# The step methods whose defaults apply the compiled loss to (y, y_pred) as given; a
# model overriding one may take targets the compiled loss could not, so they are not
# checked against it.
_LOSS_PATH = ("train_step", "test_step", "compute_loss", "compute_loss_and_updates",
              "stateless_compute_loss")


class DataPreparation:
    """The data half of the Trainer mixin (methods need the model's structure)."""

    @user_frames.reported_from_user_code
    def _prepare(self, x, y, sample_weight, class_weight, what: str,
                 defer_checks: bool = False):
        """Returns ArrayData (in memory) or StreamData for one call. With
        ``defer_checks`` the scan for NaN (a pass over all the data) is left in the
        ArrayData's ``pending_checks`` instead of run."""
        if x is None:
            raise ValueError(f"`{what}` needs input data `x`, received None.")
        if y is None and self._target_tensors is not None and what != "predict":
            y = self._target_tensors
        if data_mod.is_in_memory(x):
            xs = data_mod.structure_inputs(self, x)
            self._check_input_arrays(xs, f"the x given to `{what}`")
            names = self._compiled_loss.output_names if self._compiled_loss else None
            ys = data_mod.structure_targets(names, y) if (y is not None and names) else (
                None if y is None else [data_mod._to_numpy(y, "y")])
            sws = None
            if sample_weight is not None:
                sws = self._structure_sample_weight(sample_weight, names or ["output"])
            if class_weight is not None:
                sws = self._apply_class_weight(class_weight, ys, sws)
            if ys is not None and data_mod._functional(self):
                self._check_targets(xs, ys, None, f"the y given to `{what}`")
            nan_check = functools.partial(
                data_checks.warn_about_nan, {**data_checks.labelled("input", xs, getattr(
                    self, "input_names", None)), **data_checks.labelled("target", ys, names)},
                f"the data given to `{what}`")
            data = data_mod.ArrayData(xs, ys, sws, getattr(self, "input_names", None), names)
            if defer_checks:
                data.pending_checks.append(nan_check)
            else:
                nan_check()
            return data
        if y is not None or sample_weight is not None:
            raise ValueError(f"`y` and `sample_weight` must not be given to `{what}` when `x` is "
                             f"a generator, iterator or dataset (received x of type "
                             f"{type(x).__name__}); it yields them itself.")
        return x

    def _structure_sample_weight(self, sample_weight, names):
        if isinstance(sample_weight, dict) or (isinstance(sample_weight, (list, tuple)) and (
                len(names) > 1 or (len(sample_weight) == 1 and hasattr(sample_weight[0],
                                                                       "shape")))):
            return data_mod.structure_targets(names, sample_weight, "sample_weight")
        sw = data_mod._to_numpy(sample_weight, "sample_weight")
        return [sw] * len(names) if len(names) > 1 else [sw]

    def _apply_class_weight(self, class_weight, ys, sws):
        if not isinstance(class_weight, dict):
            raise TypeError(f"class_weight must be a dict mapping class index to weight, "
                            f"received {type(class_weight).__name__}.")
        if ys is None or len(ys) != 1:
            raise ValueError("`class_weight` is only supported for models with a single output "
                             "and needs targets `y`.")
        y = np.asarray(ys[0])
        classes = (np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1
                   else y.reshape(y.shape[0], -1)[:, 0]).astype("int64")
        missing = sorted(set(np.unique(classes).tolist()) - set(int(k) for k in class_weight))
        if missing:
            raise ValueError(f"class_weight has no weight for class {missing[0]}; it gives "
                             f"weights for classes {sorted(class_weight)}.")
        table = np.zeros(max(int(k) for k in class_weight) + 1, "float32")
        for k, w in class_weight.items():
            table[int(k)] = w
        weights = table[classes]
        if sws is not None and sws[0] is not None:
            weights = weights * np.asarray(sws[0], "float32")
        return [weights]

    @user_frames.reported_from_user_code
    def _check_input_arrays(self, xs, what: str = "x") -> None:
        inputs = getattr(self, "inputs", None)
        if not inputs or not isinstance(xs, list):
            return
        for t, name, arr in zip(inputs, self.input_names, xs):
            data_checks.check_input(t, name, tuple(arr.shape), what)

    def _build_model_on(self, x) -> None:
        """Builds an unbuilt model (subclassed, or Sequential without Input) by calling
        it on the first sample of ``x``; the batch dimension stays free."""
        if not self.built:
            self(jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], x))

    @user_frames.reported_from_user_code
    def _build_from_first_batch(self, x, y) -> None:
        """Builds an unbuilt model, the compiled losses and the compiled metrics from
        the shapes of one batch (``y`` a list aligned with the outputs, or None), and
        checks ``x`` and ``y`` against the model's inputs and the outputs' losses."""
        self._check_input_arrays(x, "the first batch")
        self._build_model_on(x)
        if self._compiled_loss is not None and self._compiled_metrics.built:
            if y is not None:
                self._check_targets(x, y, None)
            return
        spec = self._output_spec(x)
        self._build_compile_structures(spec)
        if y is not None:
            self._check_targets(x, y, spec)
        if not self._compiled_metrics.built:
            ys = None if y is None else [None if a is None else jax.ShapeDtypeStruct(
                (1,) + tuple(a.shape)[1:], np.asarray(a[:1]).dtype) for a in y]
            self._compiled_metrics.build(ys, flat_outputs(spec))

    def _output_spec(self, x):
        """The model's outputs (shapes and dtypes) for a batch of one sample of ``x``."""
        one = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((1,) + tuple(np.shape(a))[1:], np.asarray(
                a[:1]).dtype), x)
        return jax.eval_shape(
            lambda tv, ntv, xx: self.stateless_call(tv, ntv, xx, training=False)[0],
            [v.value for v in self.trainable_variables],
            [v.value for v in self.non_trainable_variables],
            self._present_batch(one, None, None)[0])

    def _check_targets(self, x, y, spec, what: str = "y") -> None:
        """Raises ValueError naming the output, both shapes, the fix and the user's line
        behind the output when a loss cannot take its targets (see data_checks)."""
        compiled = self._compiled_loss
        if compiled is None or any(getattr(type(self), m) is not getattr(StepMethods, m)
                                   for m in _LOSS_PATH):
            return
        tensors = flatten(self._outputs_struct) if data_mod._functional(self) else None
        if spec is not None:
            outputs = flat_outputs(spec)
        elif tensors is not None and all(d is not None for t in tensors for d in t.shape[1:]):
            outputs = tensors
        else:
            outputs = flat_outputs(self._output_spec(x))
        for i, (loss, target) in enumerate(zip(compiled.losses, y)):
            if loss is not None and target is not None:
                data_checks.check_target(loss, target, outputs[i], compiled.output_names[i],
                                         None if tensors is None else tensors[i], what)

    def _prepare_validation(self, validation_data):
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and (
                data_mod.is_in_memory(validation_data[0])):
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            return self._prepare(vx, vy, vsw, None, "fit (validation_data)")
        if isinstance(validation_data, (list, tuple)) and data_mod.is_in_memory(
                validation_data):
            raise ValueError("validation_data must be a tuple (x, y) or (x, y, sample_weight), "
                             f"received a {type(validation_data).__name__} of "
                             f"{len(validation_data)} arrays.")
        return validation_data
