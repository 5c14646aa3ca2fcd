"""Would micro-batching concurrent classification requests pay on this CPU?

    .venv/bin/python bench/micro_batching.py [--repeats 10] [--batches 1 2 4 8] [--archs cnn9 vgg16 resnet152]

For each network (built for 224x224 RGB and 101 classes, as bench/classifier_serving.py; loaded
and warmed up by the serving path, `classifier.service._load`) it times, median of `--repeats`:

- one call of `predict_on_batch` on a batch of B images, for each B in `--batches`: the cost per
  image of a micro-batch of B requests gathered into one call;
- B requests served as the site serves them today: B threads at once, each with its own
  `predict_on_batch` of one image (Django runs each request in its own thread).

It prints, per network and B, the milliseconds per image both ways and the gain of the batch over
the concurrent single calls. Micro-batching also makes each request wait for the batch to fill,
so it pays only where that gain is large; BENCHMARKS.md records the decision.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEEPBOOT_VAR", tempfile.mkdtemp(prefix="deepboot-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepboot_site.settings")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from servers import describe_machine  # noqa: E402


def median_seconds(work, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--archs", nargs="+", default=["cnn9", "vgg16", "resnet152"])
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np

    from classifier import networks, service

    print(f"Machine: {describe_machine(tensorflow=True)}", flush=True)
    rng = np.random.default_rng(0)
    workdir = Path(tempfile.mkdtemp(prefix="micro-batching-"))
    print("\n| network | B | one call of B images, ms per image | B concurrent calls of one image, ms per image | gain of the batch |")
    print("| --- | --- | --- | --- | --- |", flush=True)
    for arch in args.archs:
        path = workdir / f"{arch}.keras"
        networks.build(arch, (args.size, args.size, 3), 101).save(path)
        model = service._load(path)
        images = rng.random((max(args.batches), args.size, args.size, 3), dtype=np.float32) * 255
        with ThreadPoolExecutor(max(args.batches)) as pool:
            for batch in args.batches:
                model.predict_on_batch(images[:batch])  # each batch shape traced once, not timed
                together = median_seconds(lambda: model.predict_on_batch(images[:batch]), args.repeats) / batch

                def concurrent():
                    list(pool.map(lambda i: model.predict_on_batch(images[i:i + 1]), range(batch)))

                apart = median_seconds(concurrent, args.repeats) / batch
                print(f"| {arch} | {batch} | {together * 1000:.1f} | {apart * 1000:.1f} | {apart / together:.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
