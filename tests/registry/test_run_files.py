"""registry/run_files.py: a run's output folder and the files it may serve."""

import uuid
from pathlib import Path

import pytest
from django.conf import settings

from registry import run_files
from registry.models import TrainingRun


def run_with_folder():
    folder = Path(settings.VAR_DIR) / "models" / "classification" / f"run-{uuid.uuid4().hex[:8]}"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"PK\x03\x04keras")
    (folder / "curves.png").write_bytes(b"\x89PNG\r\n")
    (folder / "report.json").write_text('{"epochs_run": 2}')
    (folder / "checkpoints" / "epoch-1.keras").write_bytes(b"x")
    relative = folder.relative_to(settings.VAR_DIR)
    run = TrainingRun(command="train_toy", artifacts={"model": str(relative / "model.keras"), "curves": str(relative / "curves.png")})
    return run, folder


def test_the_output_folder_is_where_the_model_was_saved():
    run, folder = run_with_folder()
    assert run_files.output_dir(run) == folder.resolve()


def test_artefacts_list_the_folders_files_recorded_ones_first_without_checkpoints():
    run, _ = run_with_folder()
    found = run_files.artefacts(run)
    assert [(a.label, a.path, a.preview) for a in found] == [
        ("curves", "curves.png", "image"), ("model", "model.keras", None), ("report.json", "report.json", "text"),
    ]


@pytest.mark.parametrize("bad", ["../../secret_key", "/etc/passwd", "checkpoints", "missing.json", "..\\x", ""])
def test_nothing_outside_the_folder_or_not_a_file_is_served(bad):
    run, _ = run_with_folder()
    with pytest.raises(run_files.NotServed):
        run_files.resolve(run, bad)


def test_a_link_leading_out_of_the_folder_is_not_served():
    run, folder = run_with_folder()
    (folder / "escape.json").symlink_to(Path(settings.VAR_DIR) / "secret_key")
    with pytest.raises(run_files.NotServed):
        run_files.resolve(run, "escape.json")
    assert "escape.json" not in [a.path for a in run_files.artefacts(run)]


def test_a_model_saved_in_var_itself_gives_no_folder_to_serve():
    assert run_files.output_dir(TrainingRun(artifacts={"model": "model.keras"})) is None
    assert run_files.output_dir(TrainingRun(artifacts={"model": "/tmp/elsewhere/model.keras"})) is None
