"""Training time per epoch of each classifier on this machine.

    .venv/bin/python bench/classifier_training.py [--image-size 64] [--per-class 30] [--epochs 2]
        [--archs cnn9 vgg16 resnet152] [--batch-size 16]

It generates the demo data set (make_demo_data classification: 6 classes, `--per-class` images
each, of which 70% train), then trains each network from scratch with the real trainer
(classifier/train.py: tf.data pipeline with augmentation, Adam, checkpoints) for `--epochs`
epochs and reports the first epoch (which includes tracing the training graph) and the median of
the later ones (steady state), with images per second. It prints a Markdown block for BENCHMARKS.md.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from servers import describe_machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--archs", nargs="+", default=["cnn9", "vgg16", "resnet152"])
    parser.add_argument("--eager", action="store_true", help="Train eagerly (no graph tracing).")
    args = parser.parse_args()

    from classifier.train import TrainConfig, train
    from classifier.demo_data import make_demo_data

    workdir = Path(tempfile.mkdtemp(prefix="classifier-training-"))
    data = make_demo_data(workdir / "data", seed=0, per_class=args.per_class)
    described = describe_machine(tensorflow=True)
    rows = []
    for arch in args.archs:
        config = TrainConfig(arch=arch, data=str(data), epochs=args.epochs, batch_size=args.batch_size,
                             image_size=args.image_size, patience=args.epochs + 1, run_eagerly=args.eager)
        started = time.perf_counter()
        result = train(config, workdir / arch)
        total = time.perf_counter() - started
        seconds = [row["seconds"] for row in result.epochs]
        train_images = result.report["split"]["counts"]["train"]
        steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        rows.append((arch, seconds[0], steady, train_images, total, result.metrics.get("test_top1")))
        print(f"{arch}: epochs {', '.join(f'{s:.1f}s' for s in seconds)}; {total:.0f}s in all", flush=True)

    print()
    print(f"Machine: {described}. Demo data, {args.image_size}x{args.image_size}, batch {args.batch_size}, "
          f"{args.epochs} epochs from scratch{' (eager)' if args.eager else ''}.")
    print()
    print("| network | training images | first epoch (with tracing) | later epochs (median) | images/s | whole run |")
    print("| --- | --- | --- | --- | --- | --- |")
    for arch, first, steady, images, total, _ in rows:
        print(f"| {arch} | {images} | {first:.1f} s | {steady:.1f} s | {images / steady:.0f} | {total:.0f} s |")


if __name__ == "__main__":
    main()
