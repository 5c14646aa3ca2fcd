"""The demo detector `bootstrap` makes when the tiny slot is empty: demo scenes, then a tiny YOLO
trained on them (a few minutes on 2 CPU cores), evaluated on held-out scenes and activated."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from registry import registry

DEMO_DIR_NAME = "demo-detection"
DEMO_IMAGES = 1000
DEMO_SEED = 0
# What bootstrap trains: reaches mAP@0.5 ~0.88 on the held-out demo scenes (see BENCHMARKS.md). The
# command's defaults are for a user's data (up to 150 epochs, stopping when the validation mAP
# stops improving); the demo's short schedule is spelled out here: 10 epochs, no early stop.
DEMO_TRAINING = {"variant": "tiny", "epochs": 10, "patience": 0, "batch_size": 32, "lr": 3e-3, "seed": 0}


def demo_data_ready(dest):
    return (dest / "ImageSets" / "Main" / "test.txt").is_file() and any((dest / "Annotations").glob("*.xml"))


def make_demo_detector(stdout, style, images=DEMO_IMAGES, training=None, **options):
    """Make the demo scenes (unless present) and train, evaluate and activate the tiny detector,
    only when no tiny detector is active. `options`: bootstrap's other flags (--weights), not
    used: the detector has no pre-trained weights."""
    active = registry.active_record("detection", "tiny")
    if active is not None:
        stdout.write(f"  detection/tiny: model #{active.pk} is active already; nothing to do.")
        return
    dest = Path(settings.DATA_DIR) / DEMO_DIR_NAME
    started = time.monotonic()
    if demo_data_ready(dest):
        stdout.write(f"  demo scenes already in {dest}")
    else:
        from .demo_data import make_demo_data

        stdout.write(f"  making {images} demo scenes in {dest}…")
        if dest.exists():
            import shutil

            shutil.rmtree(dest)
        make_demo_data(dest, seed=DEMO_SEED, images=images, stdout=stdout)
        stdout.write(f"  scenes made in {time.monotonic() - started:.1f}s")
    trained = time.monotonic()
    options = {**DEMO_TRAINING, **(training or {})}
    stdout.write(f"  training the tiny detector ({options['epochs']} epochs)…")
    call_command("train_detector", data=str(dest), activate=True, demo=True, stdout=stdout, **options)
    record = registry.active_record("detection", "tiny")
    stdout.write(
        f"  detection/tiny: model #{record.pk}, mAP@0.5 {record.metrics.get('map50', float('nan')):.3f} on "
        f"{record.metrics.get('n_test_images', 0)} held-out scenes, trained in "
        f"{time.monotonic() - trained:.1f}s"
    )
