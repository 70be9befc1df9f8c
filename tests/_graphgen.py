"""Random functional-model descriptions for the property tests against Keras.

A *spec* is plain data (dicts, lists, tuples, strings, numbers), so a failing example
prints as something that can be pasted into a reproduction. ``build(K, spec)`` turns it
into a model with ``K`` either ``keras`` or ``lamina``; ``data(spec)`` makes the inputs,
targets and sample weights in the structures the spec asks for; ``compile_kwargs(K, spec)``
gives the compile arguments (a fresh optimizer each call).

Every tensor of the graph is rank 2, ``(batch, dim)``; reshape ops go through rank 3 and
come back. All layers are named, so layers can be matched by name across libraries.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

HIDDEN_ACTIVATIONS = (None, "linear", "relu", "tanh", "sigmoid", "elu", "softplus", "swish")
HEAD_ACTIVATIONS = (None, "tanh", "linear")
SAME_SHAPE_MERGES = ("Add", "Multiply", "Average", "Subtract")
LOSS_WEIGHTS = (0.25, 0.5, 1.0, 2.0)
N_SAMPLES = 16

# Name alphabets: no underscore, so a name can never equal a Keras auto-name ("dense_3").
_letters = st.text(alphabet="abcxyz", min_size=1, max_size=3)
# A quarter of the Dense layers are frozen; the simplest example trains them all.
_trainable = st.sampled_from([True, True, True, False])


@st.composite
def _unique_names(draw, n: int, taken: set) -> list[str]:
    names = []
    for _ in range(n):
        base = draw(_letters)
        name = base
        k = 0
        while name in taken:
            k += 1
            name = f"{base}{k}"
        taken.add(name)
        names.append(name)
    return names


def _ancestors(nodes: list, n_inputs: int, tensor: int) -> set:
    """The input indices that ``tensor`` depends on."""
    if tensor < n_inputs:
        return {tensor}
    out = set()
    for src in nodes[tensor - n_inputs]["src"]:
        out |= _ancestors(nodes, n_inputs, src)
    return out


@st.composite
def model_specs(draw, output_kind=None, min_outputs=1, model_frozen=None,
                shuffle_dicts=True, max_nodes=5):
    """A random functional model, its data structures and its compile arguments.

    ``output_kind`` forces "single", "list" or "dict"; ``model_frozen`` forces
    ``model.trainable``; ``min_outputs`` raises the minimum number of outputs.
    """
    taken: set = set()
    n_in = draw(st.integers(1, 3))
    in_dims = [draw(st.integers(2, 4)) for _ in range(n_in)]
    in_names = draw(_unique_names(n_in, taken))
    input_kind = draw(st.sampled_from(["single", "list", "dict"] if n_in == 1
                                      else ["list", "dict"]))
    dims = list(in_dims)
    nodes = []
    for _ in range(draw(st.integers(0, max_nodes))):
        op = draw(st.sampled_from(["dense", "dense", "merge", "concat", "reshape"]))
        a = draw(st.integers(0, len(dims) - 1))
        if op == "dense":
            node = dict(op="dense", src=[a], units=draw(st.integers(1, 4)),
                        activation=draw(st.sampled_from(HIDDEN_ACTIVATIONS)),
                        use_bias=draw(st.booleans()), trainable=draw(_trainable))
            dims.append(node["units"])
        elif op == "merge" and any(dims[i] == dims[a] for i in range(len(dims)) if i != a):
            kind = draw(st.sampled_from(SAME_SHAPE_MERGES))
            same = [i for i in range(len(dims)) if dims[i] == dims[a]]
            n_other = 1 if kind == "Subtract" else draw(st.integers(1, 2))
            others = [draw(st.sampled_from(same)) for _ in range(n_other)]
            node = dict(op="merge", kind=kind, src=[a, *others])
            dims.append(dims[a])
        elif op in ("merge", "concat"):
            others = [draw(st.integers(0, len(dims) - 1))
                      for _ in range(draw(st.integers(1, 2)))]
            node = dict(op="merge", kind="Concatenate", src=[a, *others])
            dims.append(sum(dims[i] for i in node["src"]))
            if dims[-1] > 12:  # keep the graph small
                dims.pop()
                continue
        else:
            kind = draw(st.sampled_from(["flatten", "repeat", "reshape", "reshape_minus1"]))
            repeats = draw(st.integers(1, 3)) if kind == "repeat" else 1
            if dims[a] * repeats > 12:
                repeats = 1
            node = dict(op="reshape", kind=kind, src=[a], repeats=repeats)
            dims.append(dims[a] * repeats)
        nodes.append(node)
    node_names = draw(_unique_names(len(nodes), taken))
    for node, name in zip(nodes, node_names):
        node["name"] = name

    # Outputs: a Dense head on some tensor each; every input must reach an output.
    n_out = 1 if output_kind == "single" else draw(st.integers(min_outputs, 3))
    if output_kind is None:
        output_kind = draw(st.sampled_from(["single", "list", "dict"] if n_out == 1
                                           else ["list", "dict"]))
    outputs = []
    head_names = draw(_unique_names(n_out, taken))
    for i in range(n_out):
        loss = draw(st.sampled_from(["mse", "mae", "binary_crossentropy"]))
        src = draw(st.integers(0, len(dims) - 1))
        outputs.append(dict(
            src=src, name=head_names[i], loss=loss,
            units=draw(st.integers(1, 3)),
            activation="sigmoid" if loss == "binary_crossentropy" else draw(
                st.sampled_from(HEAD_ACTIVATIONS)),
            use_bias=draw(st.booleans()), trainable=draw(_trainable)))
    n_inputs = len(in_dims)
    used = set()
    for out in outputs:
        used |= _ancestors(nodes, n_inputs, out["src"])
    for i in range(n_inputs):
        if i not in used:
            out = outputs[draw(st.integers(0, n_out - 1))]
            nodes.append(dict(op="merge", kind="Concatenate", src=[out["src"], i],
                              name=draw(_unique_names(1, taken))[0]))
            dims.append(dims[out["src"]] + dims[i])
            out["src"] = n_inputs + len(nodes) - 1
            used.add(i)
    if output_kind == "dict":
        # Keys are not the layer names (sometimes equal), in a creation order unrelated
        # to their sorted order.
        keys = draw(_unique_names(n_out, set(taken)))
        for out, key in zip(outputs, keys):
            out["key"] = out["name"] if draw(st.integers(0, 3)) == 0 else key

    def order(n):
        return draw(st.permutations(range(n))) if shuffle_dicts else list(range(n))

    # Compile arguments.
    if output_kind == "single":
        loss_form = "single"
    elif output_kind == "list":
        loss_form = draw(st.sampled_from(["list", "dict"]))
    else:
        loss_form = "dict"
    # Keras 3.15 pairs a dict of loss_weights with a *list* of losses in sorted-key order,
    # not by output name (lamina pairs by name), so a dict of weights comes only with a
    # dict of losses.
    loss_weights = None
    if output_kind != "single" and draw(st.booleans()):
        loss_weights = dict(form=draw(st.sampled_from(["list", "dict"] if loss_form == "dict"
                                                      else ["list"])),
                            values=[draw(st.sampled_from(LOSS_WEIGHTS)) for _ in outputs],
                            order=order(n_out))
    metrics = []
    for out in outputs:
        choices = ["mae", "mse"] + (["accuracy"] if out["loss"] == "binary_crossentropy"
                                    else [])
        metrics.append(draw(st.lists(st.sampled_from(choices), max_size=2, unique=True)))
    if output_kind == "single":
        metric_form = draw(st.sampled_from(["none", "flat"]))
    else:
        metric_form = draw(st.sampled_from(["none", "nested", "dict"] if output_kind == "list"
                                           else ["none", "dict"]))
    # Data structures: x as the model's input structure (dict keys shuffled); y and
    # sample_weight as a list or a dict (shuffled). Keras takes a dict sample_weight only
    # with a dict y on a dict-output model, so other combinations are not generated.
    if output_kind == "single":
        y_form = "single"
    elif output_kind == "list":
        # Keras cannot take a dict of targets for a list of one output.
        y_form = draw(st.sampled_from(["list", "dict"])) if n_out > 1 else "list"
    else:
        y_form = "dict"
    use_sw = draw(st.booleans()) and (output_kind != "list" or y_form == "list")
    # A list-input model also takes a dict keyed by input name.
    x_form = draw(st.sampled_from(["list", "dict"])) if input_kind == "list" else input_kind
    return dict(
        inputs=[dict(name=n, dim=d) for n, d in zip(in_names, in_dims)],
        input_kind=input_kind, input_order=order(n_in), x_form=x_form,
        nodes=nodes, outputs=outputs, output_kind=output_kind,
        output_struct_order=order(n_out),
        model_frozen=draw(st.integers(0, 5)) == 5 if model_frozen is None else model_frozen,
        optimizer=draw(st.sampled_from(["sgd", "adam"])),
        loss_form=loss_form, loss_order=order(n_out), loss_weights=loss_weights,
        metrics=metrics, metric_form=metric_form, metric_order=order(n_out),
        y_form=y_form, y_order=order(n_out),
        sample_weight=use_sw, sample_weight_order=order(n_out),
        seed=draw(st.integers(0, 2**16)),
    )


def _out_id(spec, out) -> str:
    """The name an output is addressed by in compile arguments and data dicts."""
    return out["key"] if spec["output_kind"] == "dict" else out["name"]


def _reorder(spec, values: list, order_key: str) -> dict:
    """A dict keyed by output id, inserted in the spec's shuffled order."""
    outs = spec["outputs"]
    return {_out_id(spec, outs[i]): values[i] for i in spec[order_key]}


def build(K, spec):
    """The spec's model, built with ``K`` (``keras`` or ``lamina``)."""
    L = K.layers
    inputs = [K.Input(shape=(i["dim"],), name=i["name"]) for i in spec["inputs"]]
    tensors = list(inputs)
    for node in spec["nodes"]:
        src = [tensors[i] for i in node["src"]]
        name = node["name"]
        if node["op"] == "dense":
            layer = L.Dense(node["units"], activation=node["activation"],
                            use_bias=node["use_bias"], name=name)
            layer.trainable = node["trainable"]
            t = layer(src[0])
        elif node["op"] == "merge":
            t = getattr(L, node["kind"])(name=name)(src)
        else:
            x, d = src[0], src[0].shape[-1]
            if node["kind"] == "flatten":
                x = L.Reshape((d, 1), name=name + "r")(x)
                t = L.Flatten(name=name)(x)
            elif node["kind"] == "repeat":
                x = L.RepeatVector(node["repeats"], name=name + "r")(x)
                t = L.Flatten(name=name)(x)
            elif node["kind"] == "reshape":
                x = L.Reshape((1, d), name=name + "r")(x)
                t = L.Reshape((d,), name=name)(x)
            else:
                x = L.Reshape((d, 1), name=name + "r")(x)
                t = L.Reshape((-1,), name=name)(x)
        tensors.append(t)
    outs = []
    for out in spec["outputs"]:
        layer = L.Dense(out["units"], activation=out["activation"], use_bias=out["use_bias"],
                        name=out["name"])
        layer.trainable = out["trainable"]
        outs.append(layer(tensors[out["src"]]))
    if spec["input_kind"] == "single":
        model_in = inputs[0]
    elif spec["input_kind"] == "list":
        model_in = inputs
    else:
        model_in = {spec["inputs"][i]["name"]: inputs[i] for i in spec["input_order"]}
    if spec["output_kind"] == "single":
        model_out = outs[0]
    elif spec["output_kind"] == "list":
        model_out = outs
    else:
        model_out = _reorder(spec, outs, "output_struct_order")
    model = K.Model(model_in, model_out, name="m")
    if spec["model_frozen"]:
        model.trainable = False
    return model


def compile_kwargs(K, spec) -> dict:
    """compile() arguments for ``K``, with a fresh optimizer."""
    opt = (K.optimizers.SGD(0.1) if spec["optimizer"] == "sgd"
           else K.optimizers.Adam(0.01))
    outs = spec["outputs"]
    losses = [o["loss"] for o in outs]
    if spec["loss_form"] == "single":
        loss = losses[0]
    elif spec["loss_form"] == "list":
        loss = losses
    else:
        loss = _reorder(spec, losses, "loss_order")
    kwargs = dict(optimizer=opt, loss=loss)
    lw = spec["loss_weights"]
    if lw is not None:
        kwargs["loss_weights"] = (list(lw["values"]) if lw["form"] == "list" else
                                  {_out_id(spec, outs[i]): lw["values"][i] for i in lw["order"]})
    form = spec["metric_form"]
    if form == "flat":
        kwargs["metrics"] = list(spec["metrics"][0])
    elif form == "nested":
        kwargs["metrics"] = [list(m) for m in spec["metrics"]]
    elif form == "dict":
        kwargs["metrics"] = {_out_id(spec, outs[i]): list(spec["metrics"][i])
                             for i in spec["metric_order"] if spec["metrics"][i]}
    return kwargs


def data(spec):
    """``(x, y, sample_weight)`` for the spec, ``N_SAMPLES`` samples, fixed by its seed."""
    rng = np.random.default_rng(spec["seed"])
    xs = [rng.standard_normal((N_SAMPLES, i["dim"])).astype("float32") for i in spec["inputs"]]
    if spec["x_form"] == "single":
        x = xs[0]
    elif spec["x_form"] == "list":
        x = xs
    else:  # keyed by input name, in an order unlike the model's input order
        order = list(reversed(spec["input_order"]))
        x = {spec["inputs"][i]["name"]: xs[i] for i in order}
    ys = []
    for out in spec["outputs"]:
        shape = (N_SAMPLES, out["units"])
        if out["loss"] == "binary_crossentropy":
            ys.append((rng.random(shape) > 0.5).astype("float32"))
        else:
            ys.append(rng.standard_normal(shape).astype("float32"))
    sws = [rng.random(N_SAMPLES).astype("float32") + 0.1 for _ in spec["outputs"]]
    if spec["y_form"] == "single":
        y, sw = ys[0], sws[0]
    elif spec["y_form"] == "list":
        y, sw = ys, sws
    else:
        y, sw = _reorder(spec, ys, "y_order"), _reorder(spec, sws, "sample_weight_order")
    return x, y, (sw if spec["sample_weight"] else None)


def describe(spec) -> str:
    """A short one-line summary, for failure messages."""
    ops = ",".join(n["op"] if n["op"] == "dense" else n["kind"] for n in spec["nodes"])
    return (f"{len(spec['inputs'])} {spec['input_kind']} input(s) -> [{ops}] -> "
            f"{len(spec['outputs'])} {spec['output_kind']} output(s) "
            f"losses={[o['loss'] for o in spec['outputs']]} frozen={spec['model_frozen']}")
