"""The training step as public API: Keras's "customizing fit() with JAX" guide runs
unchanged on lamina and gives Keras's numbers for the same weights and data."""

import jax
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(0)
X = RNG.random((64, 8)).astype("float32")
Y = RNG.random((64, 1)).astype("float32")
TOL = {"rtol": 1e-4, "atol": 1e-5}


def guide_models(K):
    """The guide's three CustomModel classes, written against the library ``K``."""

    class LossAndUpdates(K.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars, logs = [], []
            for metric in self.metrics:
                this = metrics_variables[len(new_metrics_vars):
                                         len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this = metric.stateless_update_state(this, loss)
                else:
                    this = metric.stateless_update_state(this, y, y_pred)
                logs = metric.stateless_result(this)
                new_metrics_vars += this
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                          new_metrics_vars)

    class LowerLevel(K.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = K.metrics.Mean(name="loss")
            self.mae_metric = K.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = K.losses.MeanSquaredError()

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            return self.loss_fn(y, y_pred), (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            n = len(self.loss_tracker.variables)
            loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
            mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_vars),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_vars)}
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                          loss_vars + mae_vars)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    class OwnTestStep(K.Model):
        def test_step(self, state, data):
            x, y = data
            trainable_variables, non_trainable_variables, metrics_variables = state
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=False)
            loss = self.compute_loss(x, y, y_pred)
            new_metrics_vars, logs = [], []
            for metric in self.metrics:
                this = metrics_variables[len(new_metrics_vars):
                                         len(new_metrics_vars) + len(metric.variables)]
                if metric.name == "loss":
                    this = metric.stateless_update_state(this, loss)
                else:
                    this = metric.stateless_update_state(this, y, y_pred)
                logs = metric.stateless_result(this)
                new_metrics_vars += this
            return logs, (trainable_variables, non_trainable_variables, new_metrics_vars)

    return LossAndUpdates, LowerLevel, OwnTestStep


KERAS_MODELS = guide_models(keras)
LAMINA_MODELS = guide_models(lamina)


def build_pair(index):
    def build(K, cls):
        inputs = K.Input(shape=(8,))
        return cls(inputs, K.layers.Dense(1)(inputs))

    km, lm = build(keras, KERAS_MODELS[index]), build(lamina, LAMINA_MODELS[index])
    lm.set_weights(km.get_weights())
    return km, lm


@pytest.mark.parametrize("index,compile_args", [
    (0, {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}),
    (1, {"optimizer": "adam"}),
])
def test_guide_train_steps_match_keras(index, compile_args):
    km, lm = build_pair(index)
    assert isinstance(lm, LAMINA_MODELS[index]) and isinstance(lm, lamina.Model)
    km.compile(**compile_args)
    lm.compile(**compile_args)
    hk = km.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    hl = lm.fit(X, Y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert set(hl.history) == set(hk.history)
    for key in hk.history:
        assert_close(hl.history[key], hk.history[key], **TOL, err_msg=key)
    assert_close(lm.get_weights(), km.get_weights(), **TOL)
    # The metric objects hold the last epoch's state, as Keras's do.
    assert_close(float(lm.metrics[-1].result()["mae"] if index == 0 else
                       lm.metrics[-1].result()),
                 float(km.metrics[-1].result()["mae"] if index == 0 else
                       km.metrics[-1].result()), **TOL)


def test_guide_test_step_matches_keras():
    km, lm = build_pair(2)
    km.compile(loss="mse", metrics=["mae"])
    lm.compile(loss="mse", metrics=["mae"])
    assert_close(lm.evaluate(X, Y, batch_size=16, verbose=0),
                 km.evaluate(X, Y, batch_size=16, verbose=0), **TOL)
    assert_close(lm.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True),
                 km.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True), **TOL)


def test_custom_step_runs_in_fused_loops_without_retracing():
    _, lm = build_pair(0)
    lm.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    lm.fit(X, Y, epochs=2, batch_size=4, verbose=0)  # 16 batches: one fused call an epoch
    counts = dict(lm._trace_counts)
    lm.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    assert dict(lm._trace_counts) == counts


def test_functional_subclass_keeps_functional_behaviour():
    cls = LAMINA_MODELS[0]
    inputs = lamina.Input(shape=(8,), name="x")
    model = cls(inputs, lamina.layers.Dense(2, name="d")(inputs), name="custom")
    assert type(model).__name__ == "LossAndUpdates"
    assert [layer.name for layer in model.layers] == ["x", "d"]
    assert model.output_shape == (None, 2)
    config = model.get_config()
    assert config["name"] == "custom" and len(config["layers"]) == 2
    clone = cls.from_config(config)
    assert isinstance(clone, cls) and clone.output_shape == (None, 2)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(X, verbose=0), model.predict(X, verbose=0))


def test_compute_loss_and_metrics_overrides_are_used():
    class Halved(lamina.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            return 0.5 * super().compute_loss(x, y, y_pred, sample_weight, training)

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            logs = super().compute_metrics(x, y, y_pred, sample_weight)
            self.extra.update_state(y_pred)
            return dict(logs, extra=self.extra.result())

    def build(cls):
        inputs = lamina.Input(shape=(8,))
        model = cls(inputs, lamina.layers.Dense(1, kernel_initializer="ones")(inputs))
        model.extra = lamina.metrics.Mean(name="extra")
        model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
        return model

    plain, halved = build(lamina.Model), build(Halved)
    full = plain.evaluate(X, Y, verbose=0, return_dict=True)
    half = halved.evaluate(X, Y, verbose=0, return_dict=True)
    assert half["loss"] == pytest.approx(full["loss"] / 2, rel=1e-5)
    assert half["mae"] == pytest.approx(full["mae"], rel=1e-5)
    assert half["extra"] == pytest.approx(float(X.sum(axis=1).mean()), rel=1e-5)
    assert "extra" in halved.metrics_names


def test_gan_with_two_optimizers_trains():
    latent = 4

    class GAN(lamina.Model):
        def __init__(self, discriminator, generator):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator

        def compile(self, d_optimizer, g_optimizer):
            super().compile(optimizer=d_optimizer)
            self.g_optimizer = g_optimizer
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_loss_tracker = lamina.metrics.Mean(name="d_loss")
            self.g_loss_tracker = lamina.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def call(self, x):
            return self.discriminator(x)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            n_d = len(self.discriminator.trainable_variables)
            n_opt = len(self.optimizer.variables)
            d_vars, g_vars = trainable[:n_d], trainable[n_d:]
            real = data  # fit(x) without targets passes x alone, as Keras
            z = jax.random.normal(jax.random.PRNGKey(0), (real.shape[0], latent))
            bce = lamina.losses.BinaryCrossentropy(from_logits=True)

            def d_loss_fn(dv):
                fake, _ = self.generator.stateless_call(g_vars, [], z)
                logits_fake, _ = self.discriminator.stateless_call(dv, [], fake)
                logits_real, _ = self.discriminator.stateless_call(dv, [], real)
                return (bce(np.zeros((real.shape[0], 1)), logits_fake)
                        + bce(np.ones((real.shape[0], 1)), logits_real))

            def g_loss_fn(gv):
                fake, _ = self.generator.stateless_call(gv, [], z)
                logits, _ = self.discriminator.stateless_call(d_vars, [], fake)
                return bce(np.ones((real.shape[0], 1)), logits)

            d_loss, d_grads = jax.value_and_grad(d_loss_fn)(d_vars)
            d_vars, d_opt = self.optimizer.stateless_apply(optimizer_vars[:n_opt], d_grads,
                                                           d_vars)
            g_loss, g_grads = jax.value_and_grad(g_loss_fn)(g_vars)
            g_vars, g_opt = self.g_optimizer.stateless_apply(optimizer_vars[n_opt:], g_grads,
                                                             g_vars)
            d_m = self.d_loss_tracker.stateless_update_state(metrics_vars[:2], d_loss)
            g_m = self.g_loss_tracker.stateless_update_state(metrics_vars[2:], g_loss)
            logs = {"d_loss": self.d_loss_tracker.stateless_result(d_m),
                    "g_loss": self.g_loss_tracker.stateless_result(g_m)}
            return logs, (list(d_vars) + list(g_vars), non_trainable,
                          list(d_opt) + list(g_opt), d_m + g_m)

    disc = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(8, activation="relu"),
                              lamina.layers.Dense(1)])
    gen = lamina.Sequential([lamina.Input((latent,)), lamina.layers.Dense(2)])
    gan = GAN(disc, gen)
    d_opt, g_opt = lamina.optimizers.Adam(1e-2), lamina.optimizers.SGD(1e-2)
    gan.compile(d_opt, g_opt)
    real = RNG.normal(3.0, 0.1, (64, 2)).astype("float32")
    d0, g0 = disc.get_weights(), gen.get_weights()
    history = gan.fit(real, epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(np.isfinite(v) for vals in history.history.values() for v in vals)
    # Each optimizer stepped once per batch, on its own sub-model only.
    assert int(d_opt.iterations) == int(g_opt.iterations) == 12
    assert len(gan.optimizer_variables) == len(d_opt.variables) + len(g_opt.variables)
    assert all(np.any(a != b) for a, b in zip(disc.get_weights(), d0))
    assert all(np.any(a != b) for a, b in zip(gen.get_weights(), g0))
