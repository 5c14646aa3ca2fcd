"""The model registry: one active model per slot, loaded once per process, swapped on activation."""

import pytest
from django.db import IntegrityError, transaction

from registry import registry
from registry.models import TrainedModel


@pytest.fixture(autouse=True)
def empty_cache():
    registry.clear_cache()
    yield
    registry.clear_cache()


def save_file(settings, name, text="weights"):
    path = settings.MODELS_DIR / "test" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make(settings, arch="cnn9", name="a.keras", activate=False, text="weights"):
    path = save_file(settings, name, text)
    return registry.register("classification", arch, path, activate=activate, class_names=["cat", "dog"])


@pytest.mark.django_db
def test_paths_are_stored_relative_to_models_dir(settings):
    record = make(settings)
    assert record.path == "test/a.keras"
    assert registry.absolute_path(record.path) == settings.MODELS_DIR / "test" / "a.keras"


@pytest.mark.django_db
def test_path_outside_models_dir_is_refused(settings, tmp_path):
    outside = tmp_path / "x.keras"
    outside.write_text("x")
    with pytest.raises(ValueError):
        registry.register("classification", "cnn9", outside)


@pytest.mark.django_db
def test_activating_a_model_deactivates_the_previous_one_of_its_slot(settings):
    first = make(settings, name="1.keras", activate=True)
    other_slot = make(settings, arch="vgg16", name="v.keras", activate=True)
    second = make(settings, name="2.keras")
    registry.activate_model(second.pk)
    first.refresh_from_db(), second.refresh_from_db(), other_slot.refresh_from_db()
    assert (first.active, second.active, other_slot.active) == (False, True, True)


@pytest.mark.django_db
def test_database_refuses_two_active_models_in_one_slot(settings):
    make(settings, name="1.keras", activate=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainedModel.objects.create(task="classification", architecture="cnn9", path="x", active=True)


@pytest.mark.django_db
def test_loader_loads_once_and_reloads_after_activation(settings):
    calls = []

    def loader(path):
        calls.append(path.name)
        return path.read_text()

    first = make(settings, name="1.keras", activate=True, text="one")
    assert registry.load_active("classification", "cnn9", loader).model == "one"
    assert registry.load_active("classification", "cnn9", loader).model == "one"
    assert calls == ["1.keras"]
    second = make(settings, name="2.keras", text="two")
    registry.activate_model(second.pk)
    loaded = registry.load_active("classification", "cnn9", loader)
    assert (loaded.model, loaded.record.pk) == ("two", second.pk)
    assert calls == ["1.keras", "2.keras"]
    assert first.pk != second.pk


@pytest.mark.django_db
def test_no_active_model_names_the_command_to_run(settings):
    with pytest.raises(registry.ModelUnavailable, match="manage.py"):
        registry.load_active("classification", "cnn9", lambda path: None)


@pytest.mark.django_db
def test_missing_file_is_unavailable_and_recovers_when_restored(settings):
    record = make(settings, activate=True, text="ok")
    path = registry.absolute_path(record.path)
    path.unlink()
    with pytest.raises(registry.ModelUnavailable, match="missing"):
        registry.load_active("classification", "cnn9", lambda p: p.read_text())
    path.write_text("ok")
    assert registry.load_active("classification", "cnn9", lambda p: p.read_text()).model == "ok"


@pytest.mark.django_db
def test_corrupt_keras_file_is_unavailable_not_a_crash(settings):
    make(settings, activate=True, text="this is not a zip archive")
    with pytest.raises(registry.ModelUnavailable, match="could not be loaded"):
        registry.load_active("classification", "cnn9")


@pytest.mark.django_db
def test_real_keras_model_round_trips_through_the_registry(settings):
    import keras
    import numpy as np

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    path = settings.MODELS_DIR / "test" / "real.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    registry.register("classification", "cnn9", path, activate=True)
    loaded = registry.load_active("classification", "cnn9").model
    x = np.ones((1, 4), dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
