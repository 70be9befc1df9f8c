"""How ``fit``/``evaluate``/``predict`` arguments become validated data.

Arrays, lists and dicts are checked against the model's inputs and outputs
before the first step (``ValueError`` naming the input or output); class
weights become per-sample weights; anything else is streamed.
"""

from __future__ import annotations

import jax
import numpy as np

from lamina.training import data as data_mod
from lamina.training.steps import flat_outputs


class DataPreparation:
    """The data half of the Trainer mixin (methods need the model's structure)."""

    def _prepare(self, x, y, sample_weight, class_weight, what: str):
        """Returns ArrayData (in memory) or StreamData for one call."""
        if x is None:
            raise ValueError(f"`{what}` needs input data `x`, received None.")
        if y is None and self._target_tensors is not None and what != "predict":
            y = self._target_tensors
        if data_mod.is_in_memory(x):
            xs = data_mod.structure_inputs(self, x)
            self._check_input_arrays(xs)
            names = self._compiled_loss.output_names if self._compiled_loss else None
            ys = data_mod.structure_targets(names, y) if (y is not None and names) else (
                None if y is None else [data_mod._to_numpy(y, "y")])
            sws = None
            if sample_weight is not None:
                sws = self._structure_sample_weight(sample_weight, names or ["output"])
            if class_weight is not None:
                sws = self._apply_class_weight(class_weight, ys, sws)
            return data_mod.ArrayData(xs, ys, sws, getattr(self, "input_names", None), names)
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

    def _check_input_arrays(self, xs) -> None:
        inputs = getattr(self, "inputs", None)
        if not inputs or not isinstance(xs, list):
            return
        for t, name, arr in zip(inputs, self.input_names, xs):
            shape = tuple(arr.shape)
            want = t.shape
            if len(shape) == len(want) - 1 and want[-1] == 1:
                continue
            if len(shape) == len(want) + 1 and shape[-1] == 1:
                continue
            if len(shape) != len(want) or any(w is not None and w != s
                                              for w, s in zip(want[1:], shape[1:])):
                raise ValueError(f"Input '{name}' of model '{self.name}' is incompatible: "
                                 f"expected shape {want}, received data of shape {shape}.")

    def _build_model_on(self, x) -> None:
        """Builds an unbuilt model (subclassed, or Sequential without Input) by calling
        it on the first sample of ``x``; the batch dimension stays free."""
        if not self.built:
            self(jax.tree_util.tree_map(lambda a: np.asarray(a)[:1], x))

    def _build_from_first_batch(self, x, y) -> None:
        """Builds an unbuilt model, the compiled losses and the compiled metrics from
        the shapes of one batch (``y`` a list aligned with the outputs, or None)."""
        self._build_model_on(x)
        if self._compiled_loss is not None and self._compiled_metrics.built:
            return
        one = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((1,) + tuple(np.shape(a))[1:], np.asarray(
                a[:1]).dtype), x)
        spec = jax.eval_shape(
            lambda tv, ntv, xx: self.stateless_call(tv, ntv, xx, training=False)[0],
            [v.value for v in self.trainable_variables],
            [v.value for v in self.non_trainable_variables],
            self._present_batch(one, None, None)[0])
        self._build_compile_structures(spec)
        if not self._compiled_metrics.built:
            ys = None if y is None else [None if a is None else jax.ShapeDtypeStruct(
                (1,) + tuple(a.shape)[1:], np.asarray(a[:1]).dtype) for a in y]
            self._compiled_metrics.build(ys, flat_outputs(spec))

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
