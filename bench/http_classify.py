"""Classification requests per second (POST /api/classify/) with concurrent clients on 127.0.0.1.

    .venv/bin/python bench/http_classify.py                          # 1, 4 and 16 clients; all setups
    .venv/bin/python bench/http_classify.py --clients 1 8 --seconds 5 --quick-model

It starts the servers itself, in a throw-away site (see bench/servers.py). The models are the ones
`manage.py bootstrap` makes for the classifier (every demo network: the API answers with each
active network's top-5 and their average), trained once and then served by:

- embedded: one worker, SQLite, in-memory channel layer and cache (what `make run` serves);
- postgres-1: one worker with DATABASE_URL (a fresh PostgreSQL database) and REDIS_URL;
- postgres-2: two workers sharing them, the clients spread over both, as a reverse proxy would.

Each client keeps one HTTP/1.1 connection and posts the same 160x120 JPEG (a generated demo
star) again and again; a request's latency is from sending it to reading the whole JSON answer.
The clients run on the same machine, in threads, and take their share of the CPU; "load" is the
machine's 1-minute load average when the level ended (other work on the machine shows there).
"""

import argparse
import http.client
import io
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import Site, describe_machine, percentile  # noqa: E402

SETUPS = {
    "embedded": {"database": "sqlite", "redis": False, "workers": 1},
    "postgres-1": {"database": "postgres", "redis": True, "workers": 1},
    "postgres-2": {"database": "postgres", "redis": True, "workers": 2},
}


def demo_jpeg(seed=0):
    """A 160x120 JPEG of one demo class (pure Pillow: the demo data set's own drawing)."""
    import numpy as np

    from classifier.demo_data import make_image

    image = make_image("star", np.random.default_rng(seed)).convert("RGB").resize((160, 120))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def multipart(image):
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"star.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Client(threading.Thread):
    def __init__(self, base_url, body, content_type, start_at, measure_at, stop_at, results):
        super().__init__(daemon=True)
        parsed = urlparse(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.body, self.content_type = body, content_type
        self.start_at, self.measure_at, self.stop_at = start_at, measure_at, stop_at
        self.results = results

    def run(self):
        latencies, answered, errors = [], 0, {}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        while time.monotonic() < self.start_at:
            time.sleep(0.01)
        while time.monotonic() < self.stop_at:
            measured, sent = time.monotonic() >= self.measure_at, time.perf_counter()
            try:
                connection.request("POST", "/api/classify/", body=self.body,
                                   headers={"Content-Type": self.content_type, "Connection": "keep-alive"})
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[exc.__class__.__name__] = errors.get(exc.__class__.__name__, 0) + 1
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                continue
            if response.status != 200:
                errors[f"HTTP {response.status}"] = errors.get(f"HTTP {response.status}", 0) + 1
                if measured and len(errors) == 1:
                    errors["first"] = payload[:200].decode(errors="replace")
                continue
            if measured:
                latencies.append(time.perf_counter() - sent)
                if time.monotonic() <= self.stop_at:
                    answered += 1
        connection.close()
        self.results.append((latencies, answered, errors))


def measure(urls, clients, warmup, seconds, body, content_type):
    results = []
    start_at = time.monotonic() + 0.5
    measure_at = start_at + warmup
    stop_at = measure_at + seconds
    threads = [
        Client(urls[i % len(urls)], body, content_type, start_at, measure_at, stop_at, results) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(value for result in results for value in result[0])
    answered = sum(result[1] for result in results)
    errors = {}
    for result in results:
        for key, value in result[2].items():
            errors[key] = value if key == "first" else errors.get(key, 0) + value
    ms = lambda value: None if value is None else round(1000 * value, 1)  # noqa: E731
    return {
        "clients": clients,
        "requests_per_second": round(answered / seconds, 2),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "requests": answered,
        "errors": errors,
        "load": round(os.getloadavg()[0], 1),
    }


def prime(url, body, content_type):
    """One request per worker, so every model is loaded before anything is measured."""
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)
    connection.request("POST", "/api/classify/", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    answer = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"{url} answered {response.status}: {answer}")
    return answer


def run_setup(name, site, levels, warmup, seconds, body, content_type):
    urls = site.start_workers(SETUPS[name]["workers"])
    for url in urls:
        prime(url, body, content_type)
    rows = []
    for clients in levels:
        row = measure(urls, clients, warmup, seconds, body, content_type)
        row.update(setup=name, workers=len(urls))
        rows.append(row)
        print(format_row(row), flush=True)
    site.stop_workers()
    return rows


def format_row(row):
    errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "none"
    return (
        f"| {row['setup']} | {row['workers']} | {row['clients']} | {row['requests_per_second']} | "
        f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {errors} | {row['load']} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="Concurrent clients (default 1 4 16).")
    parser.add_argument("--setups", nargs="+", choices=sorted(SETUPS), default=list(SETUPS), help="Server setups to run.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Measured seconds per level (default 15).")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per level, not measured (default 3).")
    parser.add_argument("--quick-model", action="store_true",
                        help="Serve one small cnn9 (trained in seconds) instead of bootstrap's three demo networks.")
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    args = parser.parse_args(argv)
    body, content_type = multipart(demo_jpeg())
    print(f"Machine: {describe_machine()}")
    started = time.monotonic()
    rows = []
    with Site(database="sqlite", redis=False) as base:
        base.manage("migrate", "--noinput")
        if args.quick_model:
            data = base.var / "data" / "quick"
            base.manage("make_demo_data", "classification", "--per-class", "10", "--dest", str(data))
            base.manage("train_classifier", "--arch", "cnn9", "--data", str(data), "--image-size", "64",
                        "--epochs", "2", "--activate")
        else:
            base.setup("classifier.bootstrap.make_demo")
        models = base.manage("list_models", "--task", "classification", "--active")
        print("Served:\n" + models.strip())
        print("| setup | workers | clients | requests/s | p50 ms | p95 ms | p99 ms | errors | load |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        for name in args.setups:
            spec = SETUPS[name]
            if spec["database"] == "sqlite":
                rows.extend(run_setup(name, base, args.clients, args.warmup, args.seconds, body, content_type))
                continue
            with Site(database=spec["database"], redis=spec["redis"], var=base.var) as scaled:
                scaled.manage("migrate", "--noinput")
                scaled.copy_registry_from(base)
                rows.extend(run_setup(name, scaled, args.clients, args.warmup, args.seconds, body, content_type))
    print(f"Finished in {time.monotonic() - started:.0f}s.")
    if args.json:
        args.json.write_text(json.dumps({"machine": describe_machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
