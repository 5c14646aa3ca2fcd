"""The Q-network: its shape, its loss on the legal moves, and its saved file."""

import numpy as np
import pytest

from tictactoe import networks
from tictactoe.positions import encode


def test_the_network_maps_18_inputs_to_9_q_values():
    model = networks.build_q_network(8)
    assert model.input_shape == (None, 18) and model.output_shape == (None, 9)
    assert model.count_params() == (18 * 8 + 8) + (8 * 8 + 8) + (8 * 9 + 9)
    assert networks.q_values_of(model, encode(["X...O....", "........."])).shape == (2, 9)


def test_the_loss_is_huber_on_masked_moves_only():
    from keras import ops

    pred = np.zeros((1, 9), dtype=np.float32)
    targets = np.array([[0.5, 3.0, 0, 0, 0, 0, 0, 0, 100.0]], dtype=np.float32)
    mask = np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float32)
    loss = float(ops.convert_to_numpy(networks.legal_moves_huber(np.concatenate([targets, mask], 1), pred)))
    # cell 0: 0.5 * 0.5^2 = 0.125 (quadratic); cell 1: |3| - 0.5 = 2.5 (linear); cell 8 is masked.
    assert loss == pytest.approx((0.125 + 2.5) / 2)


def test_save_and_load_round_trip(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = networks.build_q_network(8)
    path = networks.save(model, str(tmp_path / "agent" / "dqn.keras"))
    loaded = networks.load_model(path)
    boards = ["X...O....", ".........", "XO.XO...."]
    assert np.allclose(networks.q_function(loaded)(boards), networks.q_function(model)(boards))
    assert getattr(loaded, "optimizer", None) is None  # the network only: no optimizer state in the file
