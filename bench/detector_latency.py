"""The demo detector end to end on this machine: bootstrap's training time, its mAP on the held-out
demo scenes, and the per-image latency of POST /api/detect/.

    .venv/bin/python bench/detector_latency.py [--requests 100]

In a throw-away site it runs the detector's bootstrap step (1,000 demo scenes, the tiny YOLO
trained on their 800 training scenes, as `manage.py bootstrap` does), then
`manage.py evaluate_detector --split test` on the 100 held-out scenes, then starts one
worker and posts the held-out scenes to /api/detect/ one at a time over HTTP. It prints a Markdown
block for BENCHMARKS.md: the bootstrap step's wall time, the mAP, and the latency: the server's own
`latency_ms` (resize, network, decoding, NMS) and the client's round trip (upload, validation, JSON).
"""

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import Site, describe_machine, percentile  # noqa: E402


def post_image(url, path, threshold="0.25"):
    """POST one image as multipart/form-data; returns (seconds, parsed JSON)."""
    boundary = uuid.uuid4().hex
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"threshold\"\r\n\r\n{threshold}\r\n".encode(),
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{path.name}\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n".encode(),
        path.read_bytes(),
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - started, answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="API requests to time (default 100).")
    args = parser.parse_args()

    with Site() as site:
        site.manage("migrate", "--noinput")
        started = time.monotonic()
        bootstrap_output = site.setup("detector.bootstrap.make_demo_detector")
        bootstrap_seconds = time.monotonic() - started
        data = site.var / "data" / "demo-detection"
        report_path = site.var / "evaluation.json"
        site.manage("evaluate_detector", "--data", str(data), "--split", "test", "--json", str(report_path))
        report = json.loads(report_path.read_text())

        [url] = site.start_workers(1)
        scenes = [data / "JPEGImages" / f"{i}.jpg" for i in
                  (data / "ImageSets" / "Main" / "test.txt").read_text().split()]
        post_image(f"{url}/api/detect/", scenes[0])  # the worker loads the model on its first request
        round_trips, server = [], []
        found = 0
        for index in range(args.requests):
            seconds, answer = post_image(f"{url}/api/detect/", scenes[index % len(scenes)])
            round_trips.append(seconds * 1000)
            server.append(answer["latency_ms"])
            found += len(answer["detections"])

    trained = [line.strip() for line in bootstrap_output.splitlines() if "Trained in" in line or "detection/tiny" in line]
    round_trips.sort()
    server.sort()
    print(f"Machine: {describe_machine()}\n")
    print("| what | value |\n| --- | --- |")
    print(f"| bootstrap's detector step (1,000 scenes, training, test evaluation) | {bootstrap_seconds:.0f} s |")
    print(f"| mAP@0.5 on the {report['n_images']} held-out scenes (`evaluate_detector --split test`) "
          f"| {report['map50']:.3f} |")
    print("| AP per class | " + ", ".join(f"{k} {v:.3f}" for k, v in report["ap"].items()) + " |")
    print(f"| server latency_ms per image, median / p90 | {statistics.median(server):.1f} / "
          f"{percentile(server, 0.9):.1f} ms |")
    print(f"| HTTP round trip per image, median / p90 | {statistics.median(round_trips):.1f} / "
          f"{percentile(round_trips, 0.9):.1f} ms |")
    print(f"| detections per image at threshold 0.25 | {found / args.requests:.2f} |")
    print("\nBootstrap said:\n" + "\n".join(f"    {line}" for line in trained))


if __name__ == "__main__":
    main()
