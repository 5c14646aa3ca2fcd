"""Serving latency of each classifier at 224x224: the site's path against a plain `model.predict`.

    .venv/bin/python bench/classifier_serving.py [--requests 20] [--classes 101] [--archs cnn9 vgg16 resnet152]

For each network (built for 224x224 RGB and 101 classes, Caltech-101's shape; the weights do not
change the speed) it saves a .keras file, then measures one request at a time on a 640x480 photo, the two
paths interleaved request by request:

- serving path (classifier/service.py): the model loaded ONCE per process and warmed up, then per
  request resize + `model.predict_on_batch` (Keras' compiled predict step);
- plain predict: the same loaded model, per request resize + `model.predict(x)` (which builds a
  data adapter and callbacks on every call);
- load: what loading the file costs, which the serving path pays once per process instead of per
  request.

It prints a Markdown block for BENCHMARKS.md (median and 90th percentile, nearest rank, milliseconds).
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
os.environ.setdefault("DEEPBOOT_VAR", tempfile.mkdtemp(prefix="deepboot-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepboot_site.settings")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from servers import describe_machine, percentile  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--archs", nargs="+", default=["cnn9", "vgg16", "resnet152"])
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from PIL import Image

    from classifier import networks, service

    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8))
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="classifier-serving-"))
    for arch in args.archs:
        path = workdir / f"{arch}.keras"
        networks.build(arch, (args.size, args.size, 3), args.classes).save(path)
        started = time.perf_counter()
        model = service._load(path)  # what the registry's loader does once per process (load + warm-up)
        load_ms = (time.perf_counter() - started) * 1000
        size = model.input_shape[1:3]

        def serving():
            return model.predict_on_batch(service.input_array(photo, size))

        def plain():
            return model.predict(service.input_array(photo, size), verbose=0)

        plain()  # its first call traces its own function: not counted
        timings = {"serving": [], "plain": []}
        for _ in range(args.requests):  # interleaved, so a busy machine slows both alike
            for name, step in (("serving", serving), ("plain", plain)):
                started = time.perf_counter()
                step()
                timings[name].append((time.perf_counter() - started) * 1000)
        same = np.allclose(serving(), plain(), atol=1e-5)
        rows.append((arch, load_ms, timings, same))
        print(f"{arch}: serving median {statistics.median(timings['serving']):.1f} ms, "
              f"plain predict median {statistics.median(timings['plain']):.1f} ms, load {load_ms:.0f} ms",
              flush=True)

    print()
    print(f"Machine: {describe_machine(tensorflow=True)}; {args.requests} requests per network, one at a time, "
          f"{args.size}x{args.size}, {args.classes} classes, a 640x480 photo.")
    print()
    print("| network | serving path median (p90) | plain `model.predict` median (p90) | speed-up | load + warm-up, once |")
    print("| --- | --- | --- | --- | --- |")
    for arch, load_ms, timings, same in rows:
        s, p = timings["serving"], timings["plain"]
        print(f"| {arch} | {statistics.median(s):.1f} ms ({percentile(s, 0.9):.1f}) | "
              f"{statistics.median(p):.1f} ms ({percentile(p, 0.9):.1f}) | "
              f"{statistics.median(p) / statistics.median(s):.2f}x | {load_ms / 1000:.1f} s |"
              + ("" if same else " (outputs differ!)"))


if __name__ == "__main__":
    main()
