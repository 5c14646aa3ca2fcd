"""`python manage.py bootstrap` for the classifier: demo data, and a demo model for every empty slot.

Offline and on 2 CPU cores in minutes: generated shapes (make_demo_data classification), small
images and short schedules. Each model's measured test accuracy is recorded in the registry, and
`evaluate_classifier` runs at the end so the Models page has its chart.
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from registry import registry
from registry.records import demo_runs_in_progress

DEMO_DIR_NAME = "demo-classification"
DEMO_PER_CLASS = 80
DEMO_SEED = 0
# (arch, command-line flags): small, so the three fit in a few CPU-minutes. The commands' defaults
# are for a user's data set (train until the validation accuracy stops improving, up to 100
# epochs); the demo's short schedules, and vgg16's learning rate (1e-4, which was its default
# before the default stopped being ten times lower for a base trained from scratch), are spelled
# out here. Chosen by measurement (BENCHMARKS.md, "Demo models made by bootstrap", with the trials):
# vgg16 learns the demo set in 20 epochs without augmentation (0.968 test top-1 over 3 seeds, where
# 5 epochs with it gave 0.690); resnet152 learns it at 48x48 in graph mode, from residual blocks that
# start as the identity (networks.build_resnet152) with batch-norm averages that keep up (--bn-momentum
# 0.9, the default), where one eager epoch at 32x32 stayed at chance.
DEMO_TRAINING = (
    ("cnn9", ["--image-size", "48", "--epochs", "8", "--batch-size", "16", "--patience", "8"]),
    ("vgg16", ["--image-size", "32", "--epochs", "20", "--batch-size", "16", "--patience", "20", "--lr", "1e-4",
               "--augment", "none"]),
    ("resnet152", ["--image-size", "48", "--epochs", "15", "--batch-size", "16", "--patience", "15",
                   "--weight-decay", "0", "--augment", "none"]),
)
# `bootstrap --weights imagenet`: vgg16 and resnet152 fine-tuned from Keras' ImageNet weights in two
# stages, as the book does (the new head on the frozen base at 1e-3, then everything at 1e-5);
# `--weights FILE` (the file in the Keras cache) is added. Not measured: the machine that chose the
# recipes above had no copy of the weights and could not download them.
DEMO_IMAGENET_TRAINING = {
    "vgg16": ["--image-size", "64", "--two-stage", "--epochs", "3", "--patience", "3", "--batch-size", "16",
              "--lr", "1e-3", "--fine-tune-lr", "1e-5"],
    "resnet152": ["--image-size", "64", "--two-stage", "--epochs", "2", "--patience", "2", "--batch-size", "32",
                  "--lr", "1e-3", "--fine-tune-lr", "1e-5"],
}


def demo_dir():
    return Path(settings.DATA_DIR) / DEMO_DIR_NAME


def run_name(arch):
    """The name of the demo run of `arch` that a stop interrupted (the same command line resumes it
    from its checkpoints), or a new one."""
    stopped = demo_runs_in_progress("classification").get(arch)
    return (stopped.arguments.get("name") if stopped else None) or f"demo-{arch}-{time.strftime('%Y%m%d-%H%M%S')}"


def recipe(arch, flags, weights, stdout, style):
    """The flags to train the demo `arch` with: `flags` (from scratch), or with weights="imagenet"
    and an ImageNet base available (Keras cache or download), its fine-tuning recipe from them.
    Weights that cannot be had leave the network to train from scratch, as the output says."""
    if weights != "imagenet" or arch not in DEMO_IMAGENET_TRAINING:
        return flags
    from classifier import pretrained

    try:
        path = pretrained.imagenet_weights(arch, settings.DEEPBOOT_KERAS_WEIGHTS_URL, settings.KERAS_HOME, stdout)
    except pretrained.WeightsUnavailable as exc:
        stdout.write(style.WARNING(f"  {exc}\n  Training the demo {arch} from scratch instead.") + "\n")
        return flags
    return [*DEMO_IMAGENET_TRAINING[arch], "--weights", str(path)]


def make_demo(stdout, style, weights="none", **options):
    """Make the demo data and train the demo networks whose slots have no active model; with
    weights="imagenet", vgg16 and resnet152 fine-tuned from ImageNet weights (`recipe`).
    `options`: bootstrap's other flags, not used here."""
    missing = [(arch, flags) for arch, flags in DEMO_TRAINING if registry.active_record("classification", arch) is None]
    if not missing:
        stdout.write("  every classification slot has an active model: nothing to do\n")
        return
    data = demo_dir()
    if not data.is_dir() or not any(data.iterdir()):
        from classifier.demo_data import make_demo_data

        started = time.monotonic()
        stdout.write(f"  making demo data in {data}\n")
        make_demo_data(data, seed=DEMO_SEED, stdout=stdout, per_class=DEMO_PER_CLASS)
        stdout.write(f"  demo data done in {time.monotonic() - started:.1f}s\n")
    else:
        stdout.write(f"  using the demo data already in {data}\n")
    for arch, flags in missing:
        flags = recipe(arch, flags, weights, stdout, style)
        started = time.monotonic()
        stdout.write(f"  training the demo {arch} ({' '.join(flags)})\n")
        call_command(
            "train_classifier", "--arch", arch, "--data", str(data), "--seed", str(DEMO_SEED),
            "--name", run_name(arch), "--activate", "--demo", *flags, stdout=stdout,
        )
        stdout.write(style.SUCCESS(f"  demo {arch} trained in {time.monotonic() - started:.1f}s") + "\n")
    started = time.monotonic()
    stdout.write("  evaluating the active classifiers on the demo test split\n")
    call_command("evaluate_classifier", "--data", str(data), "--split", "test", stdout=stdout)
    stdout.write(f"  evaluation done in {time.monotonic() - started:.1f}s\n")
