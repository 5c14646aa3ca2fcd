"""deepboot/optimizers.py: the fused Adam makes the same updates as Keras' Adam, in fewer graph ops."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepboot import optimizers


def _model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    hidden = keras.layers.BatchNormalization()(hidden)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))


def _train(optimizer, steps=25):
    model = _model(seed=3)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    return model, losses


@pytest.mark.parametrize("weight_decay", [None, 1e-2])
def test_fused_adam_follows_keras_adam_step_for_step(weight_decay):
    fused, fused_losses = _train(optimizers.FusedAdam(1e-2, weight_decay=weight_decay))
    plain, plain_losses = _train(keras.optimizers.Adam(1e-2, weight_decay=weight_decay))
    assert fused_losses[-1] < fused_losses[0] * 0.8, "the fused optimizer did not learn"
    np.testing.assert_allclose(fused_losses, plain_losses, rtol=1e-4, atol=1e-5)
    for a, b in zip(fused.trainable_weights, plain.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def _update_ops(optimizer):
    """Ops in the traced update of one Dense layer's two variables."""
    model = _model(seed=0)
    optimizer.build(model.trainable_variables)
    grads = [tf.ones_like(v) for v in model.trainable_variables]
    traced = tf.function(lambda: optimizer.apply(grads, model.trainable_variables)).get_concrete_function()
    return len(traced.graph.get_operations())


def test_the_fused_update_is_far_smaller_in_the_graph():
    assert _update_ops(optimizers.FusedAdam(1e-3)) * 2 < _update_ops(keras.optimizers.Adam(1e-3))


def test_adam_is_the_fused_one_on_tensorflow():
    optimizer = optimizers.adam(1e-3, weight_decay=1e-4)
    assert isinstance(optimizer, optimizers.FusedAdam)
    assert optimizer.weight_decay == pytest.approx(1e-4)
