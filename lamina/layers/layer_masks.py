"""How masks flow through layer calls: Keras's rules, shared by the three places masks
travel (symbolic masks while a model is built, a functional model's graph when it runs,
and ``_keras_mask`` attributes on eager outputs)."""

from __future__ import annotations

from lamina.graph import KerasTensor, flatten, map_structure
from lamina.layers.abstract_eval import eval_abstractly
from lamina.layers.layer_utils import (
    _attached_mask,
    _is_tensor_argument,
    _mask_fits,
    _mask_structure,
    _shape_of,
    _signature,
)


class MaskRules:
    """The masking half of ``Layer`` (mixed into it)."""

    # -- masking --------------------------------------------------------------
    @property
    def supports_masking(self) -> bool:
        """Whether the layer gives its outputs masks (by ``compute_mask``).

        Layers set it (as a class or instance attribute); by default it is whether the
        layer's class defines its own ``compute_mask``, as in Keras.
        """
        value = self.__dict__.get("_supports_masking")
        if value is None:
            return type(self).compute_mask is not MaskRules.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, previous_mask=None):
        """The output mask: the input mask for layers that support masking, else None."""
        return previous_mask if self.supports_masking else None

    # -- masks ----------------------------------------------------------------
    # One set of rules for the three places masks flow: building a model (symbolic
    # masks on KerasTensors), running it (Functional._run_graph) and eager calls.
    def _masks_for_call(self, args: tuple, kwargs: dict, mask_of, values: dict | None = None):
        """Fills in the call's mask arguments from its tensors' masks, as Keras does.

        With a single tensor argument (a tensor or a list/dict of tensors), a ``call``
        taking ``mask`` receives that argument's masks; with several, a ``call`` taking
        ``<arg>_mask`` (MultiHeadAttention's ``query_mask``) receives the masks of
        ``<arg>``. Masks given explicitly are kept.

        Args:
            args, kwargs: the call's arguments.
            mask_of: maps one of their tensors to its mask (or None).
            values: the keyword arguments the layer will receive, when they differ from
                ``kwargs`` (a model running its graph passes the values of the node's
                KerasTensors).

        Returns:
            ``(kwargs, previous_mask)``: ``values`` with the masks added, and the mask
            ``compute_mask`` receives (the mask argument, else the first argument's masks).
        """
        values = kwargs if values is None else values
        if not any(mask_of(x) is not None for x in flatten((args, kwargs))):
            return values, values.get("mask")
        sig = _signature(self)
        bound = sig.bind(args, kwargs)
        tensors = [(name, v) for name, v in bound.items() if _is_tensor_argument(v)]
        if len(tensors) == 1:
            names = {"mask": tensors[0][1]} if sig.mask else {}
        else:
            names = {f"{name}_mask": v for name, v in tensors if f"{name}_mask" in sig.names}
        filled = {key: _mask_structure(v, mask_of) for key, v in names.items()
                  if bound.get(key) is None}
        filled = {key: m for key, m in filled.items() if m is not None}
        if filled:
            values = {**values, **filled}
        previous_mask = values.get("mask")
        if previous_mask is None and args:
            previous_mask = _mask_structure(args[0], mask_of)
        return values, previous_mask

    def _output_masks(self, first_arg, outputs, previous_mask) -> list:
        """The masks of ``outputs`` by ``compute_mask``: a list aligned with the flattened
        outputs (None where unmasked). On KerasTensors ``compute_mask`` is evaluated
        abstractly. Raises ValueError for masks that do not fit their outputs."""
        flat_outputs = flatten(outputs)
        if not self.supports_masking:
            return [None] * len(flat_outputs)
        if type(self).compute_mask is MaskRules.compute_mask:
            masks = previous_mask
        elif any(isinstance(x, KerasTensor) for x in flatten((first_arg, previous_mask))):
            try:
                masks = eval_abstractly(lambda ap: self.compute_mask(*ap),
                                        (first_arg, previous_mask))
            except Exception as e:
                shapes = map_structure(_shape_of, first_arg)
                raise ValueError(
                    f"compute_mask of layer '{self.name}' ({type(self).__name__}) failed on "
                    f"inputs with shape {shapes} and mask shape "
                    f"{map_structure(_shape_of, previous_mask)}: {type(e).__name__}: {e}"
                ) from e
        else:
            masks = self.compute_mask(first_arg, previous_mask)
        return self._flat_masks(masks, flat_outputs)

    def _flat_masks(self, masks, flat_outputs: list) -> list:
        """``masks`` matched to ``flat_outputs`` in order, as Keras pairs them (a single
        mask goes to the first output), checked to fit them."""
        flat_masks = [] if masks is None else flatten(masks)
        if len(flat_masks) > len(flat_outputs):
            raise ValueError(
                f"compute_mask of layer '{self.name}' ({type(self).__name__}) returned "
                f"{len(flat_masks)} masks for {len(flat_outputs)} output(s).")
        flat_masks = flat_masks + [None] * (len(flat_outputs) - len(flat_masks))
        for i, (mask, out) in enumerate(zip(flat_masks, flat_outputs)):
            if mask is None or out is None:
                continue
            if not (hasattr(mask, "shape") and hasattr(mask, "dtype")):
                raise ValueError(
                    f"compute_mask of layer '{self.name}' ({type(self).__name__}) returned "
                    f"{type(mask).__name__} {mask!r} as the mask of output {i}; a mask must "
                    "be a tensor or None.")
            if not _mask_fits(tuple(mask.shape), tuple(out.shape)):
                raise ValueError(
                    f"compute_mask of layer '{self.name}' ({type(self).__name__}) returned a "
                    f"mask of shape {tuple(mask.shape)} for output {i} of shape "
                    f"{tuple(out.shape)}: a mask must match the leading axes of its output "
                    "(e.g. (batch, timesteps) for an output (batch, timesteps, features)).")
        return flat_masks


def _attach_masks(outputs, masks: list) -> None:
    """Sets ``_keras_mask`` on eager output arrays, as Keras does (traced arrays cannot
    carry attributes and are skipped; a mask an output already has is kept)."""
    for out, mask in zip(flatten(outputs), masks):
        if mask is not None and _attached_mask(out) is None:
            try:
                out._keras_mask = mask
            except AttributeError:
                pass
