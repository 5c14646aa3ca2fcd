"""Hostile uploads and load on one worker on 127.0.0.1: how fast refusals come back, and
what 200 concurrent tic-tac-toe games plus a stream of classification uploads cost.

    .venv/bin/python bench/hostile_load.py                     # 5 repeats of the corpus, 3 load rounds
    .venv/bin/python bench/hostile_load.py --repeats 2 --rounds 1 --games 100
    .venv/bin/python bench/hostile_load.py --only-worst            # part 3 alone

It starts the server itself in a throw-away site (see bench/servers.py), SQLite and the in-memory
channel layer (what `make run` serves), with the shipped DQN (`tictactoe.bootstrap.make_demo`, as
`bootstrap` installs it) and the same small models the security tests use: an untrained cnn9 at
32×32 for 3 classes and an untrained tiny YOLO at 64×64 (their speed, not their accuracy, is
measured here).

Part 1, the upload corpus of tests/image_corpus.py on both APIs: for each file, the time from
the last byte sent to the answer (what the tests bound at one second), median and worst of the
repeats, and the time of the whole request for the 12 MB file.
Part 2, load rounds: 200 games opened at once and played to the end with random legal moves
(a move every 60 ms at most per game), with 40 classification uploads, two at a time, alongside.
Per round: wall time, human moves answered per second, upload latency, and the server's RSS after
the round (/proc/<pid>/status).
Part 3, worst-case legal uploads: `--worst` (default 30) uploads at once to each API in turn, each
a 40-megapixel PNG (16-bit grey and RGBA, alternately) of a few hundred KB, while another client
loads the home and Models pages every half second. Per API: the answers (200, or 503 from the
bounded queue), the server's peak RSS (VmHWM) and the slowest page answer meanwhile. The API rate is
lifted in the throw-away site (bench/servers.py): the queue answers, not the rate. The client shares the CPU.
"""

import argparse
import asyncio
import http.client
import json
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from servers import Site, describe_machine, percentile  # noqa: E402

from tests.image_corpus import HOSTILE, jpeg  # noqa: E402  (makes the files; no Django needed)
from tests.memory import rss_kib  # noqa: E402

APIS = ["/api/classify/", "/api/detect/"]
MODELS = """
import keras
from pathlib import Path
from django.conf import settings
from classifier import networks as classifier_networks
from detector import networks as detector_networks
from registry import registry
keras.utils.set_random_seed(7)
folder = Path(settings.MODELS_DIR) / "bench"
folder.mkdir(parents=True, exist_ok=True)
classifier_networks.build_cnn9(input_shape=(32, 32, 3), num_classes=3).save(folder / "cnn9.keras")
detector_networks.build_tiny(image_size=64, classes=3, width=8).save(folder / "tiny.keras")
registry.register("classification", "cnn9", folder / "cnn9.keras", activate=True,
                  class_names=["airplanes", "faces", "motorbikes"], layers=9)
registry.register("detection", "tiny", folder / "tiny.keras", activate=True,
                  class_names=["circle", "square", "triangle"], layers=6)
"""


def multipart(files):
    boundary = uuid.uuid4().hex
    parts = []
    for field, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(base, path, files, timeout=120):
    """(status, seconds from the last byte sent to the answer, seconds in all)."""
    body, content_type = multipart(files)
    parsed = urlparse(base)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    started = time.perf_counter()
    connection.request("POST", path, body=body, headers={"Content-Type": content_type})
    sent = time.perf_counter()
    response = connection.getresponse()
    response.read()
    done = time.perf_counter()
    connection.close()
    return response.status, done - sent, done - started


def rss_mb(pid, field="VmRSS"):
    """A worker's resident memory with its upload decoders' (tests/memory.py), MB."""
    return rss_kib(pid, field) / 1024


WORST_SIDE = 6324  # 39,992,976 pixels: just under the default 40 MP limit


def worst_cases():
    """Two legal worst cases: 40 MP of 16-bit grey and of RGBA, as PNGs of a few hundred KB."""
    import io

    import numpy as np
    from PIL import Image

    def png(array):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG")
        return buffer.getvalue()

    ramp = np.add.outer(np.arange(WORST_SIDE, dtype=np.uint32) * 7, np.arange(WORST_SIDE, dtype=np.uint32) * 3)
    grey16 = png((ramp % 65536).astype(np.uint16))
    del ramp
    rgba = np.zeros((WORST_SIDE, WORST_SIDE, 4), np.uint8)
    rgba[..., 0] = (np.arange(WORST_SIDE) % 256)[None, :]
    rgba[..., 3] = 200
    return [("grey16.png", grey16), ("rgba.png", png(rgba))]


def get(base, path, timeout=120):
    """(status, seconds) of a GET."""
    parsed, started = urlparse(base), time.perf_counter()
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    connection.request("GET", path)
    with connection.getresponse() as response:
        response.read()
    connection.close()
    return response.status, time.perf_counter() - started


def worst_burst(base, pid, api, files, count):
    """`count` worst-case uploads at once to `api`, pages polled meanwhile -> a result row."""
    import threading

    stop = threading.Event()
    pages = []

    def poll():
        while not stop.is_set():
            for path in ("/", "/models/"):
                pages.append(get(base, path))
            stop.wait(0.5)

    poller = threading.Thread(target=poll)
    barrier = threading.Barrier(count)

    def send(index):
        name, content = files[index % len(files)]
        barrier.wait()
        return post(base, api, [("image", name, content)])

    started = time.monotonic()
    poller.start()
    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(send, range(count)))
    seconds = time.monotonic() - started
    stop.set()
    poller.join()
    statuses = {}
    for status, _, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "api": api, "statuses": statuses, "seconds": seconds,
        "slowest_200": max((total for status, _, total in answers if status == 200), default=float("nan")),
        "peak_mb": rss_mb(pid, "VmHWM"), "rss_after_mb": rss_mb(pid),
        "pages": len(pages), "pages_ok": sum(1 for status, _ in pages if status == 200),
        "slowest_page": max((t for _, t in pages), default=float("nan")),
    }


def worst_part(base, pid, count):
    files = worst_cases()
    for api in APIS:  # each worst case decoded once before anything is measured
        for name, content in files:
            post(base, api, [("image", name, content)])
    print(f"\nServer RSS after one of each worst case on each API: {rss_mb(pid):.0f} MB, peak so far "
          f"{rss_mb(pid, 'VmHWM'):.0f} MB\n")
    print("| API | uploads at once | answers | wall s | slowest 200, s | peak RSS (VmHWM), MB | RSS after, MB | page loads meanwhile | slowest page, ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    for api in APIS:
        row = worst_burst(base, pid, api, files, count)
        answers = ", ".join(f"{n} x {status}" for status, n in sorted(row["statuses"].items()))
        print(
            f"| {api} | {count} | {answers} | {row['seconds']:.1f} | {row['slowest_200']:.1f} | {row['peak_mb']:.0f} | "
            f"{row['rss_after_mb']:.0f} | {row['pages_ok']}/{row['pages']} | {row['slowest_page'] * 1000:.0f} |",
            flush=True,
        )


def corpus(base, repeats):
    requests = {name: [("image", filename, content)] for name, (content, filename, _) in HOSTILE.items()}
    requests["no image field"] = [("photo", "a.jpg", jpeg())]
    requests["two image fields"] = [("image", "a.jpg", jpeg()), ("image", "b.jpg", jpeg())]
    rows = []
    for name, files in sorted(requests.items()):
        for api in APIS:
            answers, totals, statuses = [], [], set()
            for _ in range(repeats):
                status, answer, total = post(base, api, files)
                answers.append(answer)
                totals.append(total)
                statuses.add(status)
            rows.append((name, api, sorted(statuses), statistics.median(answers), max(answers), max(totals)))
    return rows


async def play(base, index, rng):
    from websockets.asyncio.client import connect

    async with connect(base.replace("http://", "ws://") + "/ws/tictactoe/", origin=base, open_timeout=60) as socket:
        await socket.send(json.dumps({"type": "new", "first": "human" if index % 2 else "ai"}))
        moves = 0
        while True:
            state = json.loads(await asyncio.wait_for(socket.recv(), 120))
            if state["type"] != "state":
                return {"error": state, "moves": moves}
            if state["status"] != "playing":
                return {"game": state["game"], "moves": moves}
            await socket.send(json.dumps({"type": "move", "cell": rng.choice([c for c, m in enumerate(state["board"]) if m == "."])}))
            moves += 1
            await asyncio.sleep(0.06)


def uploads(base, count):
    image = jpeg((320, 240))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda _: post(base, "/api/classify/", [("image", "photo.jpg", image)]), range(count)))


async def load_round(base, games, upload_count, seed):
    rng = random.Random(seed)
    stream = asyncio.get_running_loop().run_in_executor(None, uploads, base, upload_count)
    results = await asyncio.gather(*(play(base, i, random.Random(rng.random())) for i in range(games)), return_exceptions=True)
    return results, await stream


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="Times each corpus file is sent to each API (default 5).")
    parser.add_argument("--rounds", type=int, default=3, help="Load rounds (default 3).")
    parser.add_argument("--games", type=int, default=200, help="Concurrent games per round (default 200).")
    parser.add_argument("--uploads", type=int, default=40, help="Classification uploads per round (default 40).")
    parser.add_argument("--worst", type=int, default=30, help="Worst-case uploads sent at once to each API (default 30).")
    parser.add_argument("--only-worst", action="store_true", help="Run part 3 (worst-case uploads) alone.")
    args = parser.parse_args(argv)
    print(f"Machine: {describe_machine()}", flush=True)
    with Site(database="sqlite", redis=False) as site:
        site.manage("migrate", "--noinput")
        site.setup("tictactoe.bootstrap.make_demo")
        site.manage("shell", "-c", MODELS)
        (base,) = site.start_workers(1)
        pid = site.processes[0].pid
        for api in APIS:  # models loaded before anything is timed
            post(base, api, [("image", "a.jpg", jpeg())])
        print(f"\nServer RSS after loading the models: {rss_mb(pid):.0f} MB\n")
        if args.only_worst:
            worst_part(base, pid, args.worst)
            return
        print("| request | API | status | answer after sending, median ms | worst ms | whole request, worst ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, api, statuses, median, worst, total in corpus(base, args.repeats):
            print(f"| {name} | {api} | {'/'.join(map(str, statuses))} | {median * 1000:.0f} | {worst * 1000:.0f} | {total * 1000:.0f} |")
        print(f"\nServer RSS after {args.repeats} rounds of the corpus: {rss_mb(pid):.0f} MB\n", flush=True)
        asyncio.run(load_round(base, 20, 4, seed=0))  # warm-up
        print(f"Server RSS after a warm-up round (20 games, 4 uploads): {rss_mb(pid):.0f} MB\n")
        print("| round | games | finished | errors | human moves | wall s | moves/s | uploads 200 | upload p50 ms | upload p95 ms | RSS after, MB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        for number in range(1, args.rounds + 1):
            started = time.monotonic()
            results, answers = asyncio.run(load_round(base, args.games, args.uploads, seed=number))
            seconds = time.monotonic() - started
            finished = [r for r in results if isinstance(r, dict) and "game" in r]
            errors = len(results) - len(finished)
            kinds = {}
            for r in results:
                if not (isinstance(r, dict) and "game" in r):
                    kind = repr(r)[:90] if not isinstance(r, dict) else f"error frame {r['error'].get('code')}"
                    kinds[kind] = kinds.get(kind, 0) + 1
            for kind, count in sorted(kinds.items(), key=lambda item: -item[1])[:5]:
                print(f"  {count} x {kind}", file=sys.stderr)
            moves = sum(r["moves"] for r in finished)
            latencies = sorted(total for _, _, total in answers)
            ok = sum(1 for status, _, _ in answers if status == 200)
            print(
                f"| {number} | {args.games} | {len(finished)} | {errors} | {moves} | {seconds:.1f} | {moves / seconds:.1f} | "
                f"{ok}/{len(answers)} | {percentile(latencies, 0.5) * 1000:.0f} | {percentile(latencies, 0.95) * 1000:.0f} | "
                f"{rss_mb(pid):.0f} |",
                flush=True,
            )
        worst_part(base, pid, args.worst)


if __name__ == "__main__":
    main()
