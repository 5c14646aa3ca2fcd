"""The first and the tenth request after a server worker starts, with and without the warm-up.

    .venv/bin/python bench/first_request.py                    # 3 repeats, 224x224 classifiers
    .venv/bin/python bench/first_request.py --repeats 1 --size 64 --archs cnn9

In a throw-away site (bench/servers.py: SQLite, one worker) it registers untrained networks
of the serving shapes as the active models (the weights do not change the speed): the classifiers
(cnn9, vgg16, resnet152 at --size, 101 classes: Caltech-101's shape), the tiny detector (96x96, 20
classes: VOC's) and the tic-tac-toe DQN. Then, per repeat, for DEEPBOOT_WARM_MODELS=1 and =0, it
starts a worker and posts one 160x120 JPEG to /api/classify/, then to /api/detect/, ten times each
one after the other, and times the first and the tenth answer.

- warm-up on: the first request is sent once the worker logs "Warm-up done" (the column "ready"
  is how long after the port opened that was; a request sent earlier waits for the rest);
- warm-up off: the first request is sent as soon as the port opens (the worker is "ready" then)
  and pays the load of the models it needs.

Prints a Markdown block for BENCHMARKS.md: mean ± std over the repeats, in milliseconds.
"""

import argparse
import http.client
import io
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import Site, describe_machine, mean_and_std  # noqa: E402

APIS = ("/api/classify/", "/api/detect/")
REQUESTS = 10


def register_untrained_models(stdout, style):
    """Save and activate untrained networks of the serving shapes (run inside the site by Site.setup;
    the sizes come from BENCH_SIZE and BENCH_ARCHS)."""
    import keras

    from classifier import networks as classifier_networks
    from detector import networks as detector_networks
    from registry import registry
    from tictactoe import networks as tictactoe_networks
    from django.conf import settings

    keras.utils.set_random_seed(0)
    size = int(os.environ["BENCH_SIZE"])
    folder = Path(settings.MODELS_DIR) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    classes = [f"class{i}" for i in range(101)]
    for arch in os.environ["BENCH_ARCHS"].split(","):
        path = folder / f"{arch}.keras"
        model = classifier_networks.build(arch, (size, size, 3), len(classes))
        model.save(path)
        registry.register("classification", arch, path, activate=True, class_names=classes,
                          input_size=[size, size], layers=len(model.layers))
    path = folder / "tiny.keras"
    detector_networks.build_tiny(image_size=96, classes=20).save(path)
    registry.register("detection", "tiny", path, activate=True, class_names=[f"c{i}" for i in range(20)],
                      input_size=[96, 96], layers=6)
    path = folder / "dqn.keras"
    tictactoe_networks.save(tictactoe_networks.build_q_network(), str(path))
    registry.register("tictactoe", "dqn", path, activate=True, layers=3)
    stdout.write("models registered")


def jpeg():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (200, 120, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def post(url, path, image):
    """Seconds until the whole answer of one POST arrived (an error status raises)."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    started = time.perf_counter()
    connection.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    response.read()
    seconds = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return seconds


def wait_for_warm_up(log_path, timeout=300):
    """Seconds until the worker logs that its warm-up is done."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if "Warm-up done" in log_path.read_text(errors="replace"):
            return time.perf_counter() - started
        time.sleep(0.1)
    raise RuntimeError(f"no warm-up within {timeout} s; see {log_path}")


def one_start(site, warm, image):
    """{'ready': s, '/api/classify/': [s, ...], ...} for one fresh worker."""
    site.env["DEEPBOOT_WARM_MODELS"] = "1" if warm else "0"
    url = site.start_workers(1)[0]
    log_path = site.var / f"server-{url.rsplit(':', 1)[1]}.log"
    figures = {"ready": wait_for_warm_up(log_path) if warm else 0.0}
    for api in APIS:
        figures[api] = [post(url, api, image) for _ in range(REQUESTS)]
    site.stop_workers()
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--archs", nargs="+", default=["cnn9", "vgg16", "resnet152"])
    args = parser.parse_args()

    machine = describe_machine()
    # INFO: the worker's "Warm-up done" line is what the warm-up runs wait for.
    env = {"BENCH_SIZE": str(args.size), "BENCH_ARCHS": ",".join(args.archs), "DJANGO_LOG_LEVEL": "INFO"}
    results = {True: [], False: []}
    with Site(database="sqlite", extra_env=env) as site:
        site.manage("migrate", "--verbosity", "0")
        site.setup("bench.first_request.register_untrained_models")
        image = jpeg()
        for repeat in range(args.repeats):
            for warm in (True, False):
                results[warm].append(one_start(site, warm, image))
                print(f"repeat {repeat + 1}, warm-up {'on' if warm else 'off'}: "
                      + ", ".join(f"{k} {v if isinstance(v, float) else [round(x, 2) for x in v]}"
                                  for k, v in results[warm][-1].items()), flush=True)
    load = os.getloadavg()[0]

    command = "bench/first_request.py" + "".join(
        f" {flag} {value}" for flag, value, default in (
            ("--repeats", args.repeats, 3), ("--size", args.size, 224), ("--archs", " ".join(args.archs), "cnn9 vgg16 resnet152"))
        if value != default
    )
    print(f"\nCommand: `.venv/bin/python {command}`. {machine}; load average {load:.1f} at the end.\n")
    print("| warm-up | ready after the port opened (s) | classify 1st (ms) | classify 10th (ms) "
          "| detect 1st (ms) | detect 10th (ms) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for warm in (True, False):
        runs = results[warm]
        cells = [mean_and_std([r["ready"] for r in runs], digits=1)]
        for api in APIS:
            cells += [mean_and_std([r[api][0] for r in runs], digits=0, scale=1000),
                      mean_and_std([r[api][REQUESTS - 1] for r in runs], digits=0, scale=1000)]
        print(f"| {'on' if warm else 'off'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
