"""A run is one story across its attempts, through the real train_classifier command: stopped with
SIGTERM after its first epoch (one line, exit 130), resumed by the same command line with
--activate, then one folder, whole-run report and curves, both attempts, TensorBoard event files
and provenance."""

import getpass
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry import attempts, registry, training
from registry.models import RunAttempt, TrainingRun
from tests.conftest import ROOT, server_env
from tests.conftest import test_database_url as shared_database_url

IMAGE_SIZE = 32
EPOCHS = 3
INTERRUPTED = re.compile(r"^Run #(\d+) interrupted after epoch (\d) of 3; run the same command to resume\.$")


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory):
    from classifier.demo_data import make_demo_data

    return make_demo_data(tmp_path_factory.mktemp("demo") / "images", seed=0, per_class=8)


def command(data, *extra):
    return [
        sys.executable, "manage.py", "train_classifier", "--arch", "cnn9", "--data", str(data),
        "--image-size", str(IMAGE_SIZE), "--batch-size", "8", "--epochs", str(EPOCHS), "--patience", "20",
        "--no-augment", "--distribute", "none", *extra,
    ]


def environment():
    return server_env(DATABASE_URL=shared_database_url(), PYTHONUNBUFFERED="1")


def stop_after_first_epoch(argv, log, sig, command="train_classifier"):
    """Start the command with its output in `log` (not a terminal), send `sig` once it has recorded
    an epoch; returns the finished process."""
    with open(log, "w") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env=environment(), stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            run = TrainingRun.objects.filter(command=command).first()
            if run is not None and run.epochs:
                break
            time.sleep(0.1)
        assert process.poll() is None, f"the run ended before it could be stopped:\n{log.read_text()[-3000:]}"
        process.send_signal(sig)
        process.wait(timeout=120)
    return process


def tensorboard_steps(folder, tag):
    """The steps of every `tag` scalar in the event files under `folder` (TensorFlow's own reader)."""
    import tensorflow as tf

    steps = []
    for path in sorted(Path(folder).rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_stopped_with_sigterm_and_resumed_is_one_story(demo_images, tmp_path):
    folders_before = set(Path(registry.absolute_path("classification")).glob("*"))
    argv = command(demo_images, "--note", "baseline cnn9")
    first = stop_after_first_epoch(argv, tmp_path / "first.log", signal.SIGTERM)
    log = (tmp_path / "first.log").read_text()

    # One clear line, status 130, no traceback; a log that is not a terminal gets no escape codes.
    assert first.returncode == 130, log[-3000:]
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-3000:]
    stopped = [line for line in log.splitlines() if "interrupted" in line]
    assert len(stopped) == 1 and INTERRUPTED.match(stopped[0]), stopped
    assert "\x1b" not in log and "Epoch 1/3" in log
    run = TrainingRun.objects.get()
    assert run.status == "interrupted" and stopped[0] in run.error

    second = subprocess.run([*argv, "--activate"], cwd=ROOT, env=environment(), capture_output=True, text=True,
                            timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"Resuming run #{run.pk}" in second.stdout and "\x1b" not in second.stdout
    run.refresh_from_db()
    assert run.status == "finished" and run.resumed == 1 and run.model.active

    # The attempts, each with its own command line, host, process and end.
    first_attempt, second_attempt = RunAttempt.objects.filter(run=run)
    assert [first_attempt.number, second_attempt.number] == [1, 2]
    assert (first_attempt.outcome, second_attempt.outcome) == ("interrupted", "finished")
    assert first_attempt.pid == first.pid and second_attempt.pid not in (None, first.pid)
    assert first_attempt.arguments["activate"] is False and second_attempt.arguments["activate"] is True
    assert "--activate" not in first_attempt.command_line and "--activate" in second_attempt.command_line
    assert "--activate" in run.command_line, "the run shows its latest attempt's command line"
    assert first_attempt.started < first_attempt.finished <= second_attempt.started < second_attempt.finished
    assert first_attempt.host == second_attempt.host == run.host

    # One folder, whose report and curves cover every epoch with its real number; no checkpoint left.
    new_folders = set(Path(registry.absolute_path("classification")).glob("*")) - folders_before
    assert len(new_folders) == 1, sorted(new_folders)
    folder = new_folders.pop()
    assert training.var_path(run.output_dir) == folder
    report = json.loads((folder / "report.json").read_text())
    assert [row["epoch"] for row in report["epochs"]] == [1, 2, 3]
    assert report["report"]["epochs_run"] == 3
    assert (folder / "curves.png").stat().st_size > 0
    assert not (folder / "checkpoints").exists(), "the interrupted attempt's checkpoint is removed"
    assert not training.backup_root(run.resume_key).exists()

    # TensorBoard: both attempts' epochs under var/runs/run-<id>-…/, at their own steps.
    board = training.tensorboard_dir(run)
    assert board.parent == Path(registry.absolute_path("classification")).parent.parent / "runs"
    assert tensorboard_steps(board / "fit" / "train", "epoch_loss") == [0, 1, 2]
    assert tensorboard_steps(board / "fit" / "validation", "epoch_accuracy") == [0, 1, 2]

    # Provenance: who, which code, why.
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    expected_commit = head.stdout.strip() if head.returncode == 0 else attempts.UNKNOWN_COMMIT
    assert run.started_by == first_attempt.started_by == getpass.getuser()
    assert run.git_commit.split("+")[0] == expected_commit
    assert run.note == "baseline cnn9"
