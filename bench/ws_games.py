"""Tic-tac-toe games over WebSockets on 127.0.0.1: moves per second and move latency.

    .venv/bin/python bench/ws_games.py                       # 10, 100 and 500 games; all setups
    .venv/bin/python bench/ws_games.py --games 10 100 --seconds 5 --setups embedded
    .venv/bin/python bench/ws_games.py --games 100 --interval 0.5 --repeats 3   # each game moves every 0.5 s

It starts the servers itself, in a throw-away site (see bench/servers.py), with the shipped DQN
agent registered the way `manage.py bootstrap` does it:

- embedded: one worker, SQLite, in-memory channel layer (what `make run` serves);
- postgres-1: one worker with DATABASE_URL (a fresh PostgreSQL database) and REDIS_URL;
- postgres-2: two workers sharing that database and Redis, the games spread over both, as a
  reverse proxy would.

Each simulated player fetches /tictactoe/ once for its session cookie, then plays games on a
WebSocket (new game as X, then random legal moves until the game ends), three games per
connection, then reconnects (the consumer allows 20 messages a second per connection). A move's
latency is from sending {"type": "move"} to receiving the state with the agent's reply.
Moves per second count the human moves answered (each answer carries the agent's move too).
Once per connection a player also sends an invalid move ({"type": "move", "cell": 9}), which the
consumer refuses before any database or model work: its round trip ("invalid p50") is the floor of
the server and the socket, measured in the same run, and "move/invalid" the ratio of the medians.
With --interval, each player sends a move every that many seconds (a paced load, not as fast as
answers come); "answered %" is the share of the moves sent while measuring that got their state.
"server CPU ms/move" is the CPU time the workers used while measuring per answered move (new games
and handshakes included): what a move costs a worker, whatever else shares the machine.
The client runs on the same machine and takes its share of the CPU ("client CPU ms/move"); "machine
busy %" is the share of all the cores not idle while measuring (workers, client, PostgreSQL, Redis,
anything else): near 100, the machine and not the site is the limit. "load" is the machine's
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

from servers import Site, cpu_seconds, describe_machine, machine_busy_seconds, mean_and_std, percentile  # noqa: E402

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
        self.invalid = []  # round trips of a move the consumer refuses without database work
        self.sent = 0
        self.answered = 0
        self.moves = 0
        self.games = 0
        self.connections = 0
        self.errors = {}

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def player(base_url, cookie, tally, stop_at, rng, interval=None):
    """Play games until `stop_at`, a move every `interval` seconds if given (else as fast as the
    answers come). A move sent while measuring counts for latency even when its answer comes after
    the end (no censoring of slow answers); it counts for throughput when its answer arrives within
    the measured window."""
    import websockets

    ws_url = base_url.replace("http://", "ws://") + "/ws/tictactoe/"
    headers = {"Cookie": cookie, "Origin": base_url}

    async def ask(socket, message):
        await socket.send(json.dumps(message))
        return json.loads(await asyncio.wait_for(socket.recv(), REPLY_TIMEOUT))

    async def probe(socket):
        """The round trip of an invalid move (one per connection: the flood limit counts it)."""
        measured, sent = tally.measuring, time.perf_counter()
        refused = await ask(socket, {"type": "move", "cell": 9})
        if refused.get("code") != "out_of_range":
            tally.error(refused.get("code", "bad_reply"))
        elif measured:
            tally.invalid.append(time.perf_counter() - sent)

    next_move = time.monotonic() + (rng.uniform(0, interval) if interval else 0)
    while time.monotonic() < stop_at:
        try:
            async with websockets.connect(ws_url, additional_headers=headers, open_timeout=60, max_queue=None) as socket:
                tally.connections += tally.measuring
                for game in range(GAMES_PER_CONNECTION):
                    state = await ask(socket, {"type": "new", "first": "human"})
                    if state.get("type") != "state":
                        tally.error(state.get("code", "bad_reply"))
                        await asyncio.sleep(0.5)
                        break
                    if game == 0:
                        await probe(socket)
                    while state.get("status") == "playing" and time.monotonic() < stop_at:
                        if interval:
                            await asyncio.sleep(max(0.0, next_move - time.monotonic()))
                            next_move = max(next_move + interval, time.monotonic())
                        cell = rng.choice([i for i, mark in enumerate(state["board"]) if mark == "."])
                        measured, sent = tally.measuring, time.perf_counter()
                        tally.sent += measured
                        state = await ask(socket, {"type": "move", "cell": cell})
                        if state.get("type") != "state":
                            tally.error(state.get("code", "bad_reply"))
                            break
                        if measured:
                            tally.answered += 1
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


async def measure(urls, games, warmup, seconds, seed, interval=None, pids=()):
    """Run `games` concurrent players over `urls` (round robin) and return the figures; `pids`,
    the workers' processes, for the CPU time they spend per answered move."""
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
        tasks.append(asyncio.create_task(player(urls[i % len(urls)], cookies[i], tally, stop_at, random.Random(rng.random()), interval)))
        if games > 50:
            await asyncio.sleep(warmup / 2 / games)  # ramp the connections up over half the warm-up
    await asyncio.sleep(max(0.0, start + warmup - time.monotonic()))
    tally.measuring = True
    measured_from, cpu_from = time.monotonic(), cpu_seconds(pids)
    client_from, machine_from = time.process_time(), machine_busy_seconds()
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    cpu, client = cpu_seconds(pids) - cpu_from, time.process_time() - client_from
    machine = machine_busy_seconds() - machine_from
    await asyncio.gather(*tasks)
    elapsed = stop_at - measured_from
    latencies = sorted(tally.latencies)
    ms = lambda value: None if value is None else round(1000 * value, 1)  # noqa: E731
    p50, invalid_p50 = percentile(latencies, 0.50), percentile(tally.invalid, 0.50)
    return {
        "games": games,
        "interval": interval,
        "seconds": round(elapsed, 1),
        "moves_per_second": round(tally.moves / elapsed, 1),
        "games_finished": tally.games,
        "connections": tally.connections,
        "answered_pct": round(100 * tally.answered / tally.sent, 1) if tally.sent else None,
        "p50_ms": ms(p50),
        "p95_ms": ms(percentile(latencies, 0.95)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "invalid_p50_ms": ms(invalid_p50),
        "move_over_invalid": round(p50 / invalid_p50, 2) if p50 and invalid_p50 else None,
        "server_cpu_ms_per_move": round(1000 * cpu / tally.moves, 2) if pids and tally.moves else None,
        "client_cpu_ms_per_move": round(1000 * client / tally.moves, 2) if tally.moves else None,
        "machine_busy_pct": round(100 * machine / elapsed / os.cpu_count()),
        "errors": tally.errors,
        "load": round(os.getloadavg()[0], 1),
    }


def run_setup(name, levels, warmup, seconds, seed, agent_episodes=None, interval=None, repeats=1):
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
            level = []
            for repeat in range(repeats):
                row = asyncio.run(measure(urls, games, warmup, seconds, seed + repeat, interval,
                                          [process.pid for process in site.processes]))
                row["setup"] = name
                row["workers"] = spec["workers"]
                level.append(row)
                print(format_row(row), flush=True)
            if repeats > 1:
                print(format_summary(level), flush=True)
            rows.extend(level)
        return rows


COLUMNS = ["moves_per_second", "answered_pct", "p50_ms", "p95_ms", "p99_ms", "invalid_p50_ms", "move_over_invalid",
           "server_cpu_ms_per_move", "client_cpu_ms_per_move", "machine_busy_pct"]
HEADER = ("| setup | workers | concurrent games | move every (s) | moves/s | answered % | p50 ms | p95 ms | p99 ms | "
          "invalid p50 ms | move/invalid | server CPU ms/move | client CPU ms/move | machine busy % | games finished | errors | load |")


def format_row(row):
    errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "none"
    figures = " | ".join(str(row[column]) for column in COLUMNS)
    return (f"| {row['setup']} | {row['workers']} | {row['games']} | {row['interval'] or '-'} | {figures} | "
            f"{row['games_finished']} | {errors} | {row['load']} |")


def format_summary(rows):
    """One row of mean ± std over the repeats of a level."""
    def spread(column, digits=1):
        values = [row[column] for row in rows if row[column] is not None]
        return mean_and_std(values, digits) if values else "-"

    errors = sum(sum(row["errors"].values()) for row in rows)
    return (f"| {rows[0]['setup']} | {rows[0]['workers']} | {rows[0]['games']} | {rows[0]['interval'] or '-'} | "
            + " | ".join(spread(column, 2 if column in ("move_over_invalid", "server_cpu_ms_per_move", "client_cpu_ms_per_move") else 1) for column in COLUMNS)
            + f" | {spread('games_finished', 0)} | {errors} in all | {spread('load')} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, nargs="+", default=[10, 100, 500], help="Concurrent games (default 10 100 500).")
    parser.add_argument("--setups", nargs="+", choices=sorted(SETUPS), default=list(SETUPS), help="Server setups to run.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per level (default 10).")
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds per level, not measured (default 3).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--interval", type=float, help="Each game moves every this many seconds (default: as fast as answered).")
    parser.add_argument("--repeats", type=int, default=1, help="Runs of each level; with more than one, a mean ± std row too.")
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument(
        "--agent-episodes", type=int,
        help="Train a quick agent with this many episodes instead of `bootstrap`'s (the speed of a move does not "
        "depend on how well the agent plays).",
    )
    args = parser.parse_args(argv)
    print(f"Machine: {describe_machine()}")
    print(HEADER)
    print("|" + " --- |" * HEADER.count(" | ") + " --- |", flush=True)
    started = time.monotonic()
    rows = []
    for name in args.setups:
        rows.extend(run_setup(name, args.games, args.warmup, args.seconds, args.seed, args.agent_episodes,
                              args.interval, args.repeats))
    print(f"Finished in {time.monotonic() - started:.0f}s.")
    if args.json:
        args.json.write_text(json.dumps({"machine": describe_machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
