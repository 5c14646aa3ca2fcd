"""How long ResNet152's first training step takes in graph mode, and what it is spent on.

    .venv/bin/python bench/resnet152_tracing.py [--image-size 64] [--batch-size 16] [--repeats 3]
        [--variants keras built fused]

Each repeat of each variant runs in a fresh process (tracing caches nothing across processes) and
times `train_on_batch` on one batch of random images: the first call traces the training function
and runs it once, so its time is what a graph-mode run waits before its first step. Variants:

- `keras`: Keras' defaults (no tf.distribute strategy in scope): the optimizer, metric and loss
  variables are created inside the first trace, so TensorFlow traces the function twice;
- `built`: the variables made before tracing (`classifier.fit.build_before_tracing`), one trace;
- `fused`: as `built`, with Adam's per-variable update as TensorFlow's fused kernel
  (`deepboot.optimizers.FusedAdam`), what train_classifier does now.

It also times the next 3 steps (the steady state). Prints a Markdown table for BENCHMARKS.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from servers import describe_machine  # noqa: E402

VARIANTS = ("keras", "built", "fused")


def one_run(variant, size, batch):
    """In this process: build, compile and time the first and the next 3 training steps."""
    import keras
    import numpy as np

    from classifier import fit, networks
    from deepboot import optimizers

    keras.utils.set_random_seed(0)
    model = networks.build_resnet152((size, size, 3), 6)
    optimizer = optimizers.FusedAdam(1e-3) if variant == "fused" else keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    labels = np.eye(6, dtype="float32")[rng.integers(0, 6, batch)]
    started = time.perf_counter()
    if variant != "keras":
        import tensorflow as tf

        fit.build_before_tracing(model, tf.data.Dataset.from_tensors((images, labels)))
    model.train_on_batch(images, labels)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(3):
        model.train_on_batch(images, labels)
    return {"first": first, "step": (time.perf_counter() - started) / 3}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.image_size, args.batch_size)))
        return

    results = {}
    for variant in args.variants:
        for repeat in range(args.repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--one", variant, "--image-size", str(args.image_size),
                 "--batch-size", str(args.batch_size)], capture_output=True, text=True, check=True,
            ).stdout
            run = json.loads(out.strip().splitlines()[-1])
            results.setdefault(variant, []).append(run)
            print(f"{variant} #{repeat + 1}: first step {run['first']:.1f} s, then {run['step']:.2f} s a step",
                  flush=True)

    def mean_std(values):
        return f"{statistics.mean(values):.1f} ± {statistics.stdev(values) if len(values) > 1 else 0:.1f}"

    print()
    print(f"Machine: {describe_machine(tensorflow=True)}. ResNet152 (6 classes) at {args.image_size}x"
          f"{args.image_size}, batch {args.batch_size}, {args.repeats} fresh processes per variant.")
    print()
    print("| variant | first step (trace + run), s | later steps, s |")
    print("| --- | --- | --- |")
    for variant, runs in results.items():
        print(f"| {variant} | {mean_std([r['first'] for r in runs])} | {mean_std([r['step'] for r in runs])} |")


if __name__ == "__main__":
    main()
