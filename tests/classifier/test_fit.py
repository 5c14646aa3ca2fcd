"""classifier/fit.py: one network built, compiled and fitted; two-stage fine-tuning, batch norm, optimizers."""

import keras
import numpy as np
import pytest

from classifier import data, fit, networks, pipeline
from deepboot.hooks import TrainHooks
from tests.classifier.conftest import tiny_config


def test_batch_norm_recalibration_sets_moving_statistics_from_training_batches(demo_data):
    model = networks.build_cnn9((32, 32, 3), 6)
    dataset = data.scan_folder(demo_data)
    batches = pipeline.make_dataset(demo_data, dataset.items, 32, 12, num_classes=6)
    bn = networks.base_of(model).get_layer("conv1_bn")
    before = np.asarray(bn.moving_mean).copy()
    assert fit.recalibrate_batch_norm(model, batches, batches=2) == 2
    assert not np.allclose(np.asarray(bn.moving_mean), before)
    assert bn.momentum == 0.9  # restored


def test_two_stage_freezes_the_base_then_fine_tunes_everything_at_a_lower_rate(demo_data):
    snapshots = {}

    class Snapshot(keras.callbacks.Callback):
        def __init__(self, stage):
            super().__init__()
            self.stage = stage

        def kernels(self):
            base = networks.base_of(self.model).get_layer("conv1").kernel
            head = self.model.get_layer("head_predictions").kernel
            return np.asarray(base).copy(), np.asarray(head).copy()

        def on_train_begin(self, logs=None):
            snapshots[self.stage] = {"begin": self.kernels(), "lr": float(self.model.optimizer.learning_rate)}

        def on_train_end(self, logs=None):
            snapshots[self.stage]["end"] = self.kernels()

    config = tiny_config("cnn9", demo_data, two_stage=True, lr=0.01)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    hooks = TrainHooks(callbacks=lambda stage, extra: [*extra, Snapshot(stage)])
    model, rows = fit.fit_network(config, dataset, split.train, split.val, hooks, checkpoint_dir=demo_data.parent / "ck")
    assert [row["stage"] for row in rows] == ["head", "finetune"]
    head, fine = snapshots["head"], snapshots["finetune"]
    assert np.array_equal(head["begin"][0], head["end"][0])  # base frozen in stage 1
    assert not np.array_equal(head["begin"][1], head["end"][1])  # head trained
    assert not np.array_equal(fine["begin"][0], fine["end"][0])  # base fine-tuned in stage 2
    assert head["lr"] == pytest.approx(0.01) and fine["lr"] == pytest.approx(0.001)





def _batch_norm_statistics(model):
    return [np.asarray(v).copy() for layer in fit.all_layers(networks.base_of(model))
            if isinstance(layer, keras.layers.BatchNormalization) for v in (layer.moving_mean, layer.moving_variance)]


def test_fine_tuning_in_two_stages_leaves_the_base_batch_norm_statistics_untouched(demo_data, monkeypatch):
    built = {}
    build = networks.build

    def keep(*args, **kwargs):
        built["model"] = build(*args, **kwargs)
        built["before"] = _batch_norm_statistics(built["model"])
        return built["model"]

    monkeypatch.setattr(networks, "build", keep)
    config = tiny_config("cnn9", demo_data, two_stage=True, batch_size=8)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    model, rows = fit.fit_network(config, dataset, split.train, split.val, TrainHooks(),
                                  checkpoint_dir=demo_data.parent / "ck-bn")
    assert [row["stage"] for row in rows] == ["head", "finetune"]
    after = _batch_norm_statistics(model)
    assert len(after) == 12 and all(np.array_equal(a, b) for a, b in zip(built["before"], after))
    # the base itself was fine-tuned: the BN statistics stayed because it ran in inference mode
    conv = networks.base_of(model).get_layer("conv1").kernel
    assert networks.base_of(model).get_layer("conv1").trainable and conv.trainable


def test_training_from_scratch_updates_the_batch_norm_statistics(demo_data, tmp_path):
    config = tiny_config("cnn9", demo_data, batch_size=8)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    fresh = _batch_norm_statistics(networks.build_cnn9((32, 32, 3), 6))
    model, _ = fit.fit_network(config, dataset, split.train, split.val, TrainHooks(),
                               checkpoint_dir=tmp_path / "ck")
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, _batch_norm_statistics(model)))


def test_optimizers_are_built_by_name():
    for name in fit.OPTIMIZERS:
        optimizer = fit.make_optimizer(name, 0.05, 1e-4)
        assert float(optimizer.learning_rate) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        fit.make_optimizer("lbfgs", 0.1)


def test_the_training_step_is_traced_once_when_its_variables_are_built_first(demo_data):
    """Without build_before_tracing, Keras creates the optimizer's and metrics' variables inside the
    first trace, and TensorFlow traces the step a second time (what made ResNet152 wait minutes)."""
    dataset = data.scan_folder(demo_data)
    batches = pipeline.make_dataset(demo_data, dataset.items, 32, 12, num_classes=6)
    config = tiny_config("cnn9", demo_data, run_eagerly=False)
    traces = {}
    for built_first in (False, True):
        model = networks.build_cnn9((32, 32, 3), 6)
        fit.compile_network(model, config, 1e-3, 6)
        if built_first:
            fit.build_before_tracing(model, batches)
        step = model.train_step
        model.train_step = lambda batch, step=step, key=built_first: traces.update({key: traces.get(key, 0) + 1}) or step(batch)
        model.fit(batches.take(2), epochs=1, verbose=0)
        traces.setdefault(built_first, 0)
    assert traces == {False: 2, True: 1}


@pytest.mark.parametrize("earlier_score", [1.0, 0.0])
def test_a_resumed_stage_keeps_an_earlier_attempts_best_epoch_only_when_it_is_better(demo_data, tmp_path,
                                                                                     earlier_score):
    """An attempt before a resume recorded `earlier_score` and left its best epoch's weights in the
    checkpoint folder; this attempt's epoch is worse than 1.0 and no worse than 0.0."""
    config = tiny_config("cnn9", demo_data, batch_size=8)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    checkpoints = tmp_path / "ck"
    checkpoints.mkdir()
    earlier_best_epoch = networks.build_cnn9((32, 32, 3), 6)  # compiled and built, as ModelCheckpoint saves it
    fit.compile_network(earlier_best_epoch, config, 1e-3, 6)
    fit.build_before_tracing(earlier_best_epoch, pipeline.make_dataset(demo_data, split.train, 32, 8, num_classes=6))
    earlier_best_epoch.save_weights(checkpoints / "best-fit.weights.h5")
    earlier = [{"stage": "fit", "epoch": 1, "val_accuracy": earlier_score}]
    hooks = TrainHooks(earlier_epochs=lambda stage: earlier if stage == "fit" else [])
    model, rows = fit.fit_network(config, dataset, split.train, split.val, hooks, checkpoint_dir=checkpoints)
    assert rows[-1]["val_accuracy"] < 1.0
    same = [np.array_equal(a, b) for a, b in zip(model.get_weights(), earlier_best_epoch.get_weights())]
    assert all(same) if earlier_score == 1.0 else not all(same)
