"""The Q-network of the DQN and of dqn-teacher: built, trained against its loss, saved and loaded.

The board from the side to move (18 inputs, `positions.encode`) -> a Q-value for each of the 9
cells. A saved `.keras` file holds the network only (no optimizer, no loss), so it loads anywhere
with `load` and stays small.
"""

import os

import numpy as np

from .positions import INPUT_SIZE, encode


def build_q_network(hidden_units=256):
    """Board from the side to move (18 inputs) -> a Q-value for each of the 9 cells."""
    import keras

    inputs = keras.Input(shape=(INPUT_SIZE,), name="board")
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden1")(inputs)
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden2")(x)
    outputs = keras.layers.Dense(9, dtype="float32", name="q_values")(x)
    return keras.Model(inputs, outputs, name="tictactoe_dqn")


def legal_moves_huber(y_true, y_pred):
    """Huber loss over the masked moves of each row. y_true: (batch, 18) = [targets (9), mask (9)]."""
    from keras import ops

    targets, mask = y_true[:, :9], y_true[:, 9:]
    error = ops.abs(targets - ops.cast(y_pred, targets.dtype))
    quadratic = ops.minimum(error, 1.0)
    huber = 0.5 * quadratic**2 + (error - quadratic)
    return ops.sum(huber * mask) / ops.maximum(ops.sum(mask), 1.0)


def q_values_of(model, features):
    """The network's Q-values for a (n, 18) batch, as a NumPy array."""
    from keras import ops

    return ops.convert_to_numpy(model(features, training=False)).astype(np.float32)


def q_function(model):
    """`boards -> (n, 9)` Q-values of a trained (or loaded) network, for evaluation and play."""
    return lambda boards: q_values_of(model, encode(list(boards)))


def save(model, path):
    """Save as a .keras file (boards encoded by `positions.encode` in, 9 Q-values out): the network
    only, without the optimizer's state or the training loss, so the file stays small."""
    import keras

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    keras.Model(model.inputs[0], model.outputs[0], name=model.name).save(path)  # same layers, not compiled
    return path


def load_model(path):
    import keras

    return keras.saving.load_model(path, compile=False)
