"""The demo classifiers over seeds: test top-1 of cnn9, vgg16, resnet152 and their average.

    .venv/bin/python bench/demo_classifiers.py [--seeds 0 1 2] [--archs cnn9 vgg16 resnet152]

It works in a throw-away var folder (DEEPBOOT_VAR, its own SQLite registry): it makes the demo
data set as `bootstrap` does (classifier/bootstrap.py: the same class count, images per class and
data seed), then, for each training seed, runs `train_classifier` with bootstrap's recipe for each
network (`DEMO_TRAINING`, with `--seed S --activate`) and `evaluate_classifier --split test`, which
scores the three active networks and the mean of their softmax outputs on the test split. It
prints each seed's figures and their mean ± standard deviation as a Markdown table for
BENCHMARKS.md.
"""

import argparse
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import describe_machine, django_in_throwaway_var, mean_and_std  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--archs", nargs="+", default=["cnn9", "vgg16", "resnet152"])
    args = parser.parse_args()

    var = django_in_throwaway_var()
    from django.core.management import call_command

    from classifier import bootstrap
    from classifier.demo_data import make_demo_data

    data = var / "data" / bootstrap.DEMO_DIR_NAME
    make_demo_data(data, seed=bootstrap.DEMO_SEED, stdout=io.StringIO(), per_class=bootstrap.DEMO_PER_CLASS)
    recipes = dict(bootstrap.DEMO_TRAINING)

    scores = {name: [] for name in [*args.archs, "average"]}
    seconds = {arch: [] for arch in args.archs}
    for seed in args.seeds:
        for arch in args.archs:
            started = time.monotonic()
            call_command("train_classifier", "--arch", arch, "--data", str(data), "--seed", str(seed),
                         "--name", f"bench-{arch}-{seed}", "--activate", *recipes[arch], stdout=io.StringIO())
            seconds[arch].append(time.monotonic() - started)
        out = var / f"evaluation-{seed}.json"
        call_command("evaluate_classifier", "--data", str(data), "--split", "test", "--json", str(out),
                     stdout=io.StringIO(), stderr=io.StringIO())
        result = json.loads(out.read_text())
        for name in scores:
            scores[name].append(result[name]["top1"])
        print(f"seed {seed}: " + ", ".join(f"{name} {scores[name][-1]:.3f}" for name in scores), flush=True)

    print(f"\nMachine: {describe_machine()}")
    print(f"Seeds: {' '.join(map(str, args.seeds))}; test split of the demo data ({data.name})\n")
    print("| network | recipe (bootstrap) | training (wall, mean) | test top-1, mean ± std | per seed |")
    print("| --- | --- | --- | --- | --- |")
    for name in scores:
        recipe = " ".join(recipes[name]) if name in recipes else "mean of the softmax outputs"
        wall = f"{sum(seconds[name]) / len(seconds[name]):.0f} s" if name in seconds else ""
        print(f"| {name} | `{recipe}` | {wall} | {mean_and_std(scores[name])} | "
              f"{', '.join(f'{s:.3f}' for s in scores[name])} |")


if __name__ == "__main__":
    main()
