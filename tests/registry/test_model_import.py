"""Checking a foreign .keras file against each task (registry/model_import.py), and the
`import_model` command that copies and registers it."""

import json
import zipfile
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from registry import model_import, registry, slots
from registry.models import TrainedModel

CLASSES = ["circle", "square", "star"]


def inspect(path, task, **options):
    """Check `path` against the shape and class-name rules the app serving `task` declares (the
    other tasks' slots left out, so each rule is seen refusing)."""
    return model_import.inspect(path, slots.for_task(task), **options)


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    """Small real models of each app, and broken ones, saved once as .keras files."""
    import keras

    from classifier.networks import build_cnn9
    from detector.networks import build_tiny
    from tictactoe.dqn import build_q_network

    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    files = {}

    def save(name, model):
        files[name] = folder / f"{name}.keras"
        model.save(files[name])

    save("cnn9", build_cnn9((32, 32, 3), len(CLASSES)))
    save("cnn9_other", build_cnn9((32, 32, 3), len(CLASSES)))  # the same network, other weights
    save("tiny", build_tiny(64, grid=4, boxes=2, classes=len(CLASSES), width=8))
    save("dqn", build_q_network(8))
    inputs = keras.Input((32, 32, 1))
    save("grey", keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))))
    inputs = keras.Input((32, 32, 3))
    save("logits", keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(inputs))))
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    save("short_cnn9", keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled), name="cnn9"))
    files["text"] = folder / "notes.keras"
    files["text"].write_text("These are not weights.\n")
    files["broken"] = folder / "broken.keras"
    with zipfile.ZipFile(files["broken"], "w") as archive:
        archive.writestr("config.json", "{not json")
    good = files["cnn9"].read_bytes()
    files["truncated"] = folder / "truncated.keras"
    files["truncated"].write_bytes(good[: len(good) // 2])
    files["noise"] = folder / "noise.keras"
    files["noise"].write_bytes(np.random.default_rng(0).bytes(4096))
    files["names"] = folder / "names.txt"
    files["names"].write_text("\n".join(CLASSES) + "\n")
    return files


def test_a_real_cnn9_fits_classification(model_files):
    found = inspect(model_files["cnn9"], "classification", class_names=CLASSES)
    assert found.input_size == [32, 32] and found.outputs == 3 and found.class_names == CLASSES
    assert found.layers == 9 and found.preprocessing == "rescale"
    assert found.parameters == found.model.count_params() > 0


def test_a_real_tiny_detector_fits_detection_and_gives_its_boxes_per_cell(model_files):
    found = inspect(model_files["tiny"], "detection", class_names=CLASSES)
    assert found.input_size == [64, 64] and found.details == {"grid": 4, "boxes": 2}
    assert found.outputs == 2 * 5 + len(CLASSES) and found.preprocessing == "rescale"


def test_a_real_dqn_fits_tictactoe_without_class_names(model_files):
    found = inspect(model_files["dqn"], "tictactoe")
    assert found.input_size == [18] and found.outputs == 9 and found.class_names == [] and found.layers == 3


@pytest.mark.parametrize(
    "name, task, message",
    [
        ("truncated", "classification", "not a Keras archive"),
        ("noise", "tictactoe", "not a Keras archive"),
        ("grey", "classification", "RGB images"),
        ("logits", "classification", "softmax"),
        ("cnn9", "tictactoe", "tic-tac-toe agent"),
        ("cnn9", "detection", "YOLO grid"),
        ("dqn", "classification", "RGB images"),
        ("tiny", "classification", "one probability per class"),
    ],
)
def test_a_file_that_does_not_fit_is_refused_with_the_reason(model_files, name, task, message):
    with pytest.raises(model_import.ImportRefused, match=message):
        inspect(model_files[name], task, class_names=CLASSES)


def test_class_names_must_match_the_outputs(model_files):
    with pytest.raises(model_import.ImportRefused, match="3 outputs but --class-names gives 2"):
        inspect(model_files["cnn9"], "classification", class_names=CLASSES[:2])
    with pytest.raises(model_import.ImportRefused, match="do not fit 4 classes"):
        inspect(model_files["tiny"], "detection", class_names=[*CLASSES, "ring"])


def test_slot_class_names_are_used_only_when_they_fit(model_files):
    found = inspect(model_files["cnn9"], "classification", fallback_class_names=["a", "b", "c"])
    assert found.class_names == ["a", "b", "c"]
    with pytest.raises(model_import.ImportRefused, match="slot's current model"):
        inspect(model_files["cnn9"], "classification", fallback_class_names=["a", "b"])
    with pytest.raises(model_import.ImportRefused, match="--class-names FILE"):
        inspect(model_files["cnn9"], "classification")


def test_class_names_files_are_lines_or_a_json_list(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("# Caltech-101\ncat\n\ndog\n")
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(["cat", "dog"]))
    assert model_import.read_class_names(lines) == model_import.read_class_names(listed) == ["cat", "dog"]
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("cat\ncat\n")
    with pytest.raises(model_import.ImportRefused, match="unique"):
        model_import.read_class_names(repeated)


def test_only_keras_files_are_taken(tmp_path):
    other = tmp_path / "model.h5"
    other.write_bytes(b"\x89HDF")
    with pytest.raises(model_import.ImportRefused, match="not a .keras file"):
        inspect(other, "tictactoe")
    with pytest.raises(model_import.ImportRefused, match="No such file"):
        inspect(tmp_path / "missing.keras", "tictactoe")


# --- the command ---------------------------------------------------------------------------


def run_import(*args):
    out = StringIO()
    call_command("import_model", *[str(a) for a in args], stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_import_copies_registers_and_activates_a_classifier_that_then_serves(model_files):
    output = run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9",
                        "--class-names", model_files["names"], "--activate")
    record = TrainedModel.objects.get()
    assert record.active and f"Registered model #{record.pk}" in output
    path = registry.absolute_path(record.path)
    assert path.parent.parent == Path(settings.MODELS_DIR) / "classification"
    assert path.parent.name.startswith("imported-") and path.read_bytes() == model_files["cnn9"].read_bytes()
    assert record.class_names == CLASSES and record.input_size == [32, 32]
    assert record.layers == 9 and record.parameters > 0 and record.preprocessing == "rescale"
    assert record.training_run["imported_from"] == str(model_files["cnn9"]) and len(record.training_run["sha256"]) == 64
    registry.clear_cache()
    loaded = registry.load_active("classification", "cnn9")
    probabilities = np.asarray(loaded.model(np.full((1, 32, 32, 3), 128.0, dtype="float32")))
    assert probabilities.shape == (1, 3) and probabilities.sum() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.django_db
def test_import_without_class_names_takes_the_slots_and_leaves_it_inactive(model_files):
    run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9", "--class-names", model_files["names"], "--activate")
    output = run_import(model_files["cnn9_other"], "--task", "classification", "--arch", "cnn9")
    first, second = TrainedModel.objects.order_by("pk")
    assert second.class_names == CLASSES and not second.active and first.active
    assert f"activate_model {second.pk}" in output
    assert registry.absolute_path(first.path).parent != registry.absolute_path(second.path).parent


@pytest.mark.django_db
def test_importing_a_registered_file_again_reports_it_and_copies_nothing(model_files):
    run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9", "--class-names", model_files["names"])
    folders = set((Path(settings.MODELS_DIR) / "classification").glob("imported-*"))
    output = run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9")
    record = TrainedModel.objects.get()
    assert f"Already registered as model #{record.pk}" in output and "nothing copied" in output
    assert set((Path(settings.MODELS_DIR) / "classification").glob("imported-*")) == folders


@pytest.mark.django_db
def test_importing_a_trained_models_file_keeps_its_metrics_and_run_and_activates_it(model_files):
    from registry.models import TrainingRun

    target = Path(settings.MODELS_DIR) / "classification" / "cnn9-trained" / "cnn9.keras"
    target.parent.mkdir(parents=True)
    target.write_bytes(model_files["cnn9"].read_bytes())
    trained = registry.register("classification", "cnn9", target, class_names=CLASSES, metrics={"test_accuracy": 0.8})
    run = TrainingRun.objects.create(command="train_classifier", resume_key="k", model=trained)
    output = run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9", "--activate")
    record = TrainedModel.objects.get()
    assert record.pk == trained.pk and record.active and f"Already registered as model #{trained.pk}" in output
    assert record.metrics == {"test_accuracy": 0.8} and list(record.runs.all()) == [run]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, task, arch, message",
    [
        ("cnn9", "classification", "vgg16", "The classification/vgg16 slot takes the vgg16 network; this file holds a network named 'cnn9' (9 weight layers)."),
        ("short_cnn9", "classification", "cnn9", "The classification/cnn9 slot takes 9 weight layers; this cnn9 network has 1."),
        ("cnn9", "detection", "tiny", "This file holds a classification network (cnn9), not a detection one: import it with --task classification --arch cnn9."),
        ("dqn", "classification", "cnn9", "This file holds a tictactoe network (tictactoe_dqn), not a classification one: import it with --task tictactoe --arch dqn."),
        ("text", "classification", "cnn9", "notes.keras is not a Keras archive (a zip holding config.json and the weights)."),
    ],
)
def test_import_refuses_the_wrong_file_in_one_sentence_and_registers_nothing(model_files, name, task, arch, message):
    folders = set((Path(settings.MODELS_DIR) / task).glob("imported-*"))
    with pytest.raises(CommandError) as refused:
        run_import(model_files[name], "--task", task, "--arch", arch, "--class-names", model_files["names"])
    assert str(refused.value) == message
    assert not TrainedModel.objects.exists()
    assert set((Path(settings.MODELS_DIR) / task).glob("imported-*")) == folders, "nothing copied"


@pytest.mark.django_db
def test_import_refuses_the_wrong_number_of_class_names_in_one_sentence(model_files, tmp_path):
    names = tmp_path / "two.txt"
    names.write_text("circle\nsquare\n")
    with pytest.raises(CommandError) as refused:
        run_import(model_files["cnn9"], "--task", "classification", "--arch", "cnn9", "--class-names", names)
    assert str(refused.value) == "The model has 3 outputs but --class-names gives 2 class names."
    assert not TrainedModel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, task, arch, message",
    [
        ("truncated", "classification", "cnn9", "not a Keras archive"),
        ("broken", "classification", "cnn9", "does not load as a Keras model"),
        ("grey", "classification", "cnn9", r"\(batch, height, width, 3\)"),
        ("cnn9", "tictactoe", "dqn", "holds a classification network"),
        ("cnn9", "classification", "yolo26", "No classification slot 'yolo26'"),
    ],
)
def test_import_refuses_a_bad_file_and_registers_nothing(model_files, name, task, arch, message):
    folders = set((Path(settings.MODELS_DIR) / task).glob("imported-*"))
    with pytest.raises(CommandError, match=message):
        run_import(model_files[name], "--task", task, "--arch", arch, "--class-names", model_files["names"])
    assert not TrainedModel.objects.exists()
    assert set((Path(settings.MODELS_DIR) / task).glob("imported-*")) == folders, "nothing copied"


@pytest.mark.django_db
def test_import_refuses_an_unknown_task(model_files):
    with pytest.raises(CommandError, match="invalid choice: 'translation'"):
        run_import(model_files["cnn9"], "--task", "translation", "--arch", "cnn9")


@pytest.mark.django_db
def test_import_registers_a_tictactoe_agent_and_a_detector(model_files):
    run_import(model_files["dqn"], "--task", "tictactoe", "--arch", "dqn", "--activate")
    run_import(model_files["tiny"], "--task", "detection", "--arch", "tiny", "--class-names", model_files["names"])
    agent, detector = TrainedModel.objects.get(task="tictactoe"), TrainedModel.objects.get(task="detection")
    assert agent.active and agent.input_size == [18] and agent.class_names == []
    assert detector.class_names == CLASSES and detector.training_run["boxes"] == 2 and detector.training_run["grid"] == 4
