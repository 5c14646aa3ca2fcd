"""`manage.py bootstrap` for tic-tac-toe: make the DQN slot's model if it has none.

The DQN is shipped small (tictactoe/pretrained/dqn.keras, with manifest.json saying the exact
command and seed that made it): bootstrap copies it under var/models/tictactoe/, evaluates it,
registers and activates it. Where the shipped file is missing it trains one instead.
"""

import json
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from registry import registry

from . import evaluate, networks, service

PRETRAINED = Path(__file__).resolve().parent / "pretrained"


def install_pretrained(activate=True, games=10_000):
    """Copy the shipped DQN under var/models/, evaluate and register it. Returns (record, report)."""
    from .train import PREPROCESSING

    manifest = json.loads((PRETRAINED / "manifest.json").read_text())
    target = Path(settings.MODELS_DIR) / "tictactoe" / manifest["name"]
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dqn.keras", "curves.png", "manifest.json"):
        if (PRETRAINED / name).exists():
            shutil.copy2(PRETRAINED / name, target / name)
    model = networks.load_model(target / "dqn.keras")
    report = evaluate.evaluate(networks.q_function(model), games=games)
    (target / "evaluation.json").write_text(json.dumps(report.to_dict(), indent=2))
    record = registry.register(
        service.TASK,
        service.ARCHITECTURE,
        target / "dqn.keras",
        activate=activate,
        input_size=[18],
        preprocessing=PREPROCESSING,
        layers=3,
        parameters=model.count_params(),
        dataset=manifest["dataset"],
        metrics=evaluate.metrics_of(report),
        training_run={**manifest.get("training_run", {}), "shipped": "tictactoe/pretrained/dqn.keras"},
    )
    return record, report


def make_demo(stdout, style, **options):
    """Install the shipped DQN (or train one) when the slot is empty. `options`: bootstrap's other
    flags (--weights), not used here."""
    record = registry.active_record(service.TASK, service.ARCHITECTURE)
    if record is not None and registry.absolute_path(record.path).exists():
        stdout.write(f"  The DQN slot has an active model (#{record.pk}); nothing to do.")
        return
    if record is not None:
        stdout.write(style.WARNING(f"  The active DQN's file {record.path} is missing; replacing it."))
    started = time.monotonic()
    if (PRETRAINED / "dqn.keras").exists():
        stdout.write("  Installing the shipped DQN (tictactoe/pretrained/dqn.keras) and evaluating it…")
        record, report = install_pretrained()
        for line in evaluate.format_report(report):
            stdout.write("    " + line)
        stdout.write(f"  Registered and activated model #{record.pk} in {time.monotonic() - started:.1f}s.")
        return
    stdout.write("  No shipped DQN: training one (python manage.py train_tictactoe --algo dqn --activate)…")
    call_command("train_tictactoe", algo="dqn", activate=True, stdout=stdout)
    stdout.write(f"  Trained in {time.monotonic() - started:.1f}s.")
