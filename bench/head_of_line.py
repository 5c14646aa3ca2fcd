"""Head-of-line blocking on one worker: how long other requests wait while large bodies stream in.

    .venv/bin/python bench/head_of_line.py                  # 200 probes per phase
    .venv/bin/python bench/head_of_line.py --probes 100 --interval 0.05

It starts one worker in a throw-away site (bench/servers.py: SQLite, the in-memory channel layer,
what `make run` serves) with the small models of bench/hostile_load.py, then a prober that loads
the home page (a Django view) every `--interval` seconds. Three phases of `--probes` probes each:

- unloaded: the prober alone;
- one 50 MB body: one client posts a 50 MB body (over the upload limit) to /api/classify/ as fast
  as the loopback takes it, again and again while the phase lasts;
- five 10 MB uploads: five clients each post a legal 10 MB JPEG (noise, under the pixel limit) to
  /api/classify/, again and again; the site decodes and classifies each.

The loaders run in a process of their own, apart from the prober (as other clients would be).

Per phase: the probes' median and p99 (nearest rank, as everywhere in BENCHMARKS.md), the p99 as a
multiple of the unloaded p99 (the speed issue's goal: under 3x), the loaders' answers, and the
server's peak RSS (the worker's and its upload decoders' peaks summed, tests/memory.py). Then
whether an over-limit body is refused from its headers: a client sends the headers of a 50 MB post
and waits 3 s, sending no body; "yes" when the 413 arrives meanwhile.
"""

import argparse
import http.client
import io
import multiprocessing
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from hostile_load import MODELS, get, multipart, rss_mb  # noqa: E402
from servers import Site, describe_machine, percentile  # noqa: E402

from tests.image_corpus import jpeg  # noqa: E402

API = "/api/classify/"
CHUNK = 256 * 1024


def noise_jpeg(target_bytes=10 * 1024 * 1024 - 256 * 1024):
    """A JPEG of random pixels just under `target_bytes` (noise does not compress)."""
    import numpy as np
    from PIL import Image

    rng, side, kept = np.random.default_rng(0), 1600, b""
    while True:
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=95)
        if buffer.tell() > target_bytes:
            return kept
        kept, side = buffer.getvalue(), side + 100


def stream_post(base, path, body, content_type):
    """POST `body` in CHUNK pieces; (status, seconds in all). A refusal that closes the connection
    while the body is still going out reads as status 0."""
    parsed, started = urlparse(base), time.perf_counter()
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        view = memoryview(body)
        for start in range(0, len(body), CHUNK):
            connection.send(view[start:start + CHUNK])
        with connection.getresponse() as response:
            response.read()
            status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


def load_until(stop, results, loaders):
    """Run each loader (a function) in a loop on its own thread until `stop` is set; then put
    the list of their answers on `results`."""
    answers = []

    def loop(load):
        while not stop.is_set():
            answers.append(load())

    threads = [threading.Thread(target=loop, args=(load,)) for load in loaders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(answers)


def phase(base, pid, probes, interval, loaders):
    """Probe the home page `probes` times while the loaders run in a loop. The loaders run in a
    process of their own, so that a probe's time is the server's and not the wait for this
    process's interpreter lock behind the loaders' threads (other clients are other machines)."""
    context = multiprocessing.get_context("fork")
    stop, results, loading = context.Event(), context.Queue(), None
    if loaders:
        loading = context.Process(target=load_until, args=(stop, results, loaders))
        loading.start()
        time.sleep(1.0)  # the loads under way before the first probe
    latencies = []
    for _ in range(probes):
        status, seconds = get(base, "/")
        latencies.append(seconds if status == 200 else float("inf"))
        time.sleep(interval)
    stop.set()
    answers = []
    if loading:
        answers = results.get()
        loading.join()
    statuses = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    return latencies, statuses, answers, rss_mb(pid, "VmHWM")


def refused_from_headers(base, length=50 * 1024 * 1024, wait=3.0):
    """(answered within `wait` s without the body, the status line or None)."""
    parsed = urlparse(base)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=wait) as sock:
        sock.sendall(
            f"POST {API} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        try:
            first = sock.recv(200)
        except socket.timeout:
            return False, None
    line = first.split(b"\r\n", 1)[0].decode("latin1")
    return bool(first), line or None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", type=int, default=200, help="Home-page loads per phase (default 200).")
    parser.add_argument("--interval", type=float, default=0.05, help="Seconds between probes (default 0.05).")
    parser.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE",
                        help="Settings for the worker, e.g. DEEPBOOT_INFERENCE_CONCURRENCY=1.")
    args = parser.parse_args(argv)
    print(f"Machine: {describe_machine()}", flush=True)
    big = b"\0" * (50 * 1024 * 1024)
    upload, upload_type = multipart([("image", "noise.jpg", noise_jpeg())])
    print(f"Legal upload: {len(upload) / 1024 / 1024:.1f} MB of multipart body", flush=True)
    if args.env:
        print(f"Worker settings: {' '.join(args.env)}")
    with Site(database="sqlite", redis=False, extra_env=dict(item.split("=", 1) for item in args.env)) as site:
        site.manage("migrate", "--noinput")
        site.manage("shell", "-c", MODELS)
        (base,) = site.start_workers(1)
        pid = site.processes[0].pid
        small, small_type = multipart([("image", "a.jpg", jpeg())])
        stream_post(base, API, small, small_type)  # the model loaded before anything is timed
        stream_post(base, API, upload, upload_type)
        for _ in range(20):
            get(base, "/")
        phases = [
            ("unloaded", []),
            ("one 50 MB body (over the limit)", [lambda: stream_post(base, API, big, "application/octet-stream")]),
            ("five 10 MB uploads (legal)", [lambda: stream_post(base, API, upload, upload_type)] * 5),
        ]
        print("\n| phase | probes | probe p50 ms | probe p99 ms | p99 / unloaded p99 | loaders' answers | loader median s | peak RSS MB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        unloaded = None
        for name, loaders in phases:
            latencies, statuses, answers, peak = phase(base, pid, args.probes, args.interval, loaders)
            p99 = percentile(latencies, 0.99)
            unloaded = unloaded or p99
            done = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items())) or "-"
            median = f"{percentile([s for _, s in answers], 0.5):.2f}" if answers else "-"
            print(f"| {name} | {len(latencies)} | {percentile(latencies, 0.5) * 1000:.1f} | {p99 * 1000:.1f} | "
                  f"{p99 / unloaded:.2f} | {done} | {median} | {peak:.0f} |", flush=True)
        answered, line = refused_from_headers(base)
        print(f"\nA 50 MB post refused from its headers (answered within 3 s, no body sent): "
              f"{'yes, ' + line if answered else 'no'}")


if __name__ == "__main__":
    main()
