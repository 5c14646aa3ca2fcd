"""Tic-tac-toe games over WebSockets on 127.0.0.1: moves per second and move latency.

    .venv/bin/python bench/ws_games.py                       # 10, 100 and 500 games; all setups
    .venv/bin/python bench/ws_games.py --games 10 100 --seconds 5 --setups embedded

It starts the servers itself, in a throw-away site (see bench/servers.py), with the shipped DQN
agent registered the way `manage.py bootstrap` does it:

- embedded: one Daphne worker, SQLite, in-memory channel layer (what `make run` serves);
- postgres-1: one worker with DATABASE_URL (a fresh PostgreSQL database) and REDIS_URL;
- postgres-2: two workers sharing that database and Redis, the games spread over both, as a
  reverse proxy would.

Each simulated player fetches /tictactoe/ once for its session cookie, then plays games on a
WebSocket (new game as X, then random legal moves until the game ends), three games per
connection, then reconnects (the consumer allows 20 messages a second per connection). A move's
latency is from sending {"type": "move"} to receiving the state with the agent's reply.
Moves per second count the human moves answered (each answer carries the agent's move too).
The client runs on the same machine and takes its share of the CPU; "load" is the machine's
1-minute load average when the level ended (other work on the machine shows there).
"""

import argparse
import asyncio
import os
import http.cookiejar
import json
import random
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import Site, describe_machine, percentile  # noqa: E402

GAMES_PER_CONNECTION = 3
REPLY_TIMEOUT = 120  # seconds a player waits for an answer before counting a timeout
SETUPS = {
    "embedded": {"database": "sqlite", "redis": False, "workers": 1},
    "postgres-1": {"database": "postgres", "redis": True, "workers": 1},
    "postgres-2": {"database": "postgres", "redis": True, "workers": 2},
}


def session_cookie(base_url):
    """The session cookie a browser gets from the tic-tac-toe page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/tictactoe/", timeout=60) as response:
        response.read()
    for cookie in jar:
        if cookie.name == "sessionid":
            return f"sessionid={cookie.value}"
    raise RuntimeError("The tic-tac-toe page set no session cookie.")


class Tally:
    def __init__(self):
        self.measuring = False
        self.latencies = []
        self.moves = 0
        self.games = 0
        self.connections = 0
        self.errors = {}

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def player(base_url, cookie, tally, stop_at, rng):
    """Play games until `stop_at`. A move sent while measuring counts for latency even when its
    answer comes after the end (no censoring of slow answers); it counts for throughput when
    its answer arrives within the measured window."""
    import websockets

    ws_url = base_url.replace("http://", "ws://") + "/ws/tictactoe/"
    headers = {"Cookie": cookie, "Origin": base_url}

    async def ask(socket, message):
        await socket.send(json.dumps(message))
        return json.loads(await asyncio.wait_for(socket.recv(), REPLY_TIMEOUT))

    while time.monotonic() < stop_at:
        try:
            async with websockets.connect(ws_url, additional_headers=headers, open_timeout=60, max_queue=None) as socket:
                tally.connections += tally.measuring
                for _ in range(GAMES_PER_CONNECTION):
                    state = await ask(socket, {"type": "new", "first": "human"})
                    if state.get("type") != "state":
                        tally.error(state.get("code", "bad_reply"))
                        await asyncio.sleep(0.5)
                        break
                    while state.get("status") == "playing" and time.monotonic() < stop_at:
                        cell = rng.choice([i for i, mark in enumerate(state["board"]) if mark == "."])
                        measured, sent = tally.measuring, time.perf_counter()
                        state = await ask(socket, {"type": "move", "cell": cell})
                        if state.get("type") != "state":
                            tally.error(state.get("code", "bad_reply"))
                            break
                        if measured:
                            tally.latencies.append(time.perf_counter() - sent)
                        if tally.measuring and time.monotonic() <= stop_at:
                            tally.moves += 1
                    if state.get("status") not in (None, "playing") and tally.measuring:
                        tally.games += 1
                    if time.monotonic() >= stop_at:
                        break
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as exc:
            # A refused or dropped connection is counted, and the player reconnects after a
            # random pause (as the page does), so an overloaded server is not hammered in step.
            tally.error(exc.__class__.__name__)
            await asyncio.sleep(rng.uniform(0.5, 2.0))


async def prime(urls):
    """One whole game on each worker, so the agent is loaded before anything is measured."""
    import websockets

    for url in urls:
        cookie = await asyncio.get_running_loop().run_in_executor(None, session_cookie, url)
        headers = {"Cookie": cookie, "Origin": url}
        async with websockets.connect(url.replace("http://", "ws://") + "/ws/tictactoe/", additional_headers=headers) as socket:
            await socket.send(json.dumps({"type": "new", "first": "human"}))
            state = json.loads(await asyncio.wait_for(socket.recv(), REPLY_TIMEOUT))
            while state.get("status") == "playing":
                await socket.send(json.dumps({"type": "move", "cell": state["board"].index(".")}))
                state = json.loads(await asyncio.wait_for(socket.recv(), REPLY_TIMEOUT))
            if state.get("type") != "state":
                raise RuntimeError(f"Priming {url} failed: {state}")


async def measure(urls, games, warmup, seconds, seed):
    """Run `games` concurrent players over `urls` (round robin) and return the figures."""
    loop = asyncio.get_running_loop()
    await prime(urls)
    cookies = await asyncio.gather(
        *[loop.run_in_executor(None, session_cookie, urls[i % len(urls)]) for i in range(games)]
    )
    tally = Tally()
    start = time.monotonic()
    stop_at = start + warmup + seconds
    rng = random.Random(seed)
    tasks = []
    for i in range(games):
        tasks.append(asyncio.create_task(player(urls[i % len(urls)], cookies[i], tally, stop_at, random.Random(rng.random()))))
        if games > 50:
            await asyncio.sleep(warmup / 2 / games)  # ramp the connections up over half the warm-up
    await asyncio.sleep(max(0.0, start + warmup - time.monotonic()))
    tally.measuring = True
    measured_from = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = stop_at - measured_from
    latencies = sorted(tally.latencies)
    ms = lambda value: None if value is None else round(1000 * value, 1)  # noqa: E731
    return {
        "games": games,
        "seconds": round(elapsed, 1),
        "moves_per_second": round(tally.moves / elapsed, 1),
        "games_finished": tally.games,
        "connections": tally.connections,
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "errors": tally.errors,
        "load": round(os.getloadavg()[0], 1),
    }


def run_setup(name, levels, warmup, seconds, seed, agent_episodes=None):
    spec = SETUPS[name]
    with Site(database=spec["database"], redis=spec["redis"]) as site:
        site.manage("migrate", "--noinput")
        if agent_episodes:
            site.manage("train_tictactoe", "--episodes", str(agent_episodes), "--eval-games", "100", "--activate")
        else:
            site.setup("tictactoe.bootstrap.make_demo")
        urls = site.start_workers(spec["workers"])
        rows = []
        for games in levels:
            row = asyncio.run(measure(urls, games, warmup, seconds, seed))
            row["setup"] = name
            row["workers"] = spec["workers"]
            rows.append(row)
            print(format_row(row), flush=True)
        return rows


def format_row(row):
    errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "none"
    return (
        f"| {row['setup']} | {row['workers']} | {row['games']} | {row['moves_per_second']} | "
        f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['games_finished']} | {errors} | {row['load']} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, nargs="+", default=[10, 100, 500], help="Concurrent games (default 10 100 500).")
    parser.add_argument("--setups", nargs="+", choices=sorted(SETUPS), default=list(SETUPS), help="Server setups to run.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per level (default 10).")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per level, not measured (default 3).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument(
        "--agent-episodes", type=int,
        help="Train a quick agent with this many episodes instead of `bootstrap`'s (the speed of a move does not "
        "depend on how well the agent plays).",
    )
    args = parser.parse_args(argv)
    print(f"Machine: {describe_machine()}")
    print("| setup | workers | concurrent games | moves/s | p50 ms | p95 ms | p99 ms | games finished | errors | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    started = time.monotonic()
    rows = []
    for name in args.setups:
        rows.extend(run_setup(name, args.games, args.warmup, args.seconds, args.seed, args.agent_episodes))
    print(f"Finished in {time.monotonic() - started:.0f}s.")
    if args.json:
        args.json.write_text(json.dumps({"machine": describe_machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
