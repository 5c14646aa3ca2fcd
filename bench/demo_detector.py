"""The demo tiny detector over seeds: its test mAP@0.5 on the held-out demo scenes.

    .venv/bin/python bench/demo_detector.py [--seeds 0 1 2]

It works in a throw-away var folder (DEEPBOOT_VAR, its own SQLite registry): it makes the demo
scenes as `bootstrap` does (detector/bootstrap.py: the same count and data seed), then, for each
training seed, runs `train_detector` with bootstrap's recipe (`DEMO_TRAINING`, with `--seed S`),
which evaluates the kept model on the held-out test scenes and records the mAP with it. It prints
each seed's figures and their mean ± standard deviation as a Markdown table for BENCHMARKS.md.
"""

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import describe_machine, django_in_throwaway_var, mean_and_std  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    var = django_in_throwaway_var()
    from django.core.management import call_command

    from registry.models import TrainedModel
    from detector import bootstrap
    from detector.demo_data import make_demo_data

    data = var / "data" / bootstrap.DEMO_DIR_NAME
    make_demo_data(data, seed=bootstrap.DEMO_SEED, images=bootstrap.DEMO_IMAGES, stdout=io.StringIO())
    maps, seconds, per_class = [], [], []
    for seed in args.seeds:
        started = time.monotonic()
        call_command("train_detector", data=str(data), stdout=io.StringIO(), **{**bootstrap.DEMO_TRAINING, "seed": seed})
        seconds.append(time.monotonic() - started)
        metrics = TrainedModel.objects.filter(task="detection").latest("id").metrics
        maps.append(metrics["map50"])
        print(f"seed {seed}: mAP@0.5 {maps[-1]:.3f} on {metrics.get('n_test_images')} test scenes, "
              f"{seconds[-1]:.0f} s", flush=True)

    recipe = ", ".join(f"{key} {value}" for key, value in bootstrap.DEMO_TRAINING.items() if key != "seed")
    print(f"\nMachine: {describe_machine()}")
    print(f"Seeds: {' '.join(map(str, args.seeds))}; demo scenes ({data.name}), test split\n")
    print("| detector | recipe (bootstrap) | training (wall, mean) | test mAP@0.5, mean ± std | per seed |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| tiny | {recipe} | {sum(seconds) / len(seconds):.0f} s | {mean_and_std(maps)} | "
          f"{', '.join(f'{m:.3f}' for m in maps)} |")


if __name__ == "__main__":
    main()
