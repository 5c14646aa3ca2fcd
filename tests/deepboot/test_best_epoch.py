"""deepboot/best_epoch.py: a resumed fit's checkpoint starts from the earlier attempts' best."""

import keras

from deepboot.best_epoch import best_epoch_checkpoint, earlier_best
from deepboot.hooks import TrainHooks

EARLIER = {"head": [{"epoch": 1, "val_map50": 0.5}, {"epoch": 2, "val_map50": 0.8}, {"epoch": 3}]}


def hooks():
    return TrainHooks(earlier_epochs=lambda stage: EARLIER.get(stage, []))


def test_earlier_best_is_the_best_score_the_earlier_attempts_recorded_for_the_stage():
    assert earlier_best(hooks(), "head", "val_map50") == 0.8
    assert earlier_best(hooks(), "finetune", "val_map50") is None  # a fresh stage
    assert earlier_best(TrainHooks(), "head", "val_map50") is None  # a run never interrupted


def test_after_a_resume_only_an_epoch_that_beats_the_earlier_attempts_replaces_their_file(tmp_path):
    path = tmp_path / "best.weights.h5"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    checkpoint = best_epoch_checkpoint(path, hooks(), "head", "val_map50", save_weights_only=True)
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_end(3, {"val_map50": 0.7})  # worse than epoch 2, before the kill
    assert not path.exists() and checkpoint.best == 0.8
    checkpoint.on_epoch_end(4, {"val_map50": 0.9})
    assert path.exists() and checkpoint.best == 0.9
