"""Tic-tac-toe learners over several seeds: lost lines, exact win rates vs random, episodes, time.

    .venv/bin/python bench/tictactoe_train.py [--seeds 1 2 3 4 5] [--methods dqn:self qlearning ...] [--ship]

Each method and seed runs `manage.py train_tictactoe --algo ... --seed S` in a throw-away site
(the defaults of each learner's config), and reads the registry entry it makes: the exhaustive
check (lost lines as X and as O) and the exact win rates against a uniformly random player. The
methods:

- `dqn:self`, `dqn:random`, `dqn:minimax`, `dqn:mix`: the model-free DQN with that `--opponent`;
- `dqn-teacher`: the network fitted to exact expected scores plus the minimax penalty;
- `qlearning`: tabular Q-learning;
- `value-iteration`: exact value iteration over the position table (no learning from play: the
  ceiling), computed in this process.

It prints a Markdown table for BENCHMARKS.md (mean ± std over the seeds) and one line per run.
--ship copies the `dqn:self` run of the first seed (dqn.keras, curves.png, and manifest.json with
its command, configuration and timings) into tictactoe/pretrained/, which `manage.py bootstrap`
installs. The run is deterministic for a seed, so shipping again gives the same weights.
"""

import argparse
import json
import resource
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ROOT, Site, describe_machine, mean_and_std  # noqa: E402

PRETRAINED = ROOT / "tictactoe" / "pretrained"
METHODS = ("dqn:self", "dqn:random", "dqn:minimax", "dqn:mix", "dqn-teacher", "qlearning", "value-iteration")


def command_of(method, seed):
    algo, _, opponent = method.partition(":")
    return ["train_tictactoe", "--algo", algo, *(["--opponent", opponent] if opponent else []),
            "--seed", str(seed), "--eval-games", "1000"]


def cpu_of_children():
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_once(site, method, seed):
    """One training command; its figures from the registry entry it made."""
    command = command_of(method, seed)
    started, cpu_before = time.monotonic(), cpu_of_children()
    output = site.manage(*command)
    wall, cpu = time.monotonic() - started, cpu_of_children() - cpu_before
    with sqlite3.connect(site.var / "db.sqlite3") as db:
        path, metrics, run, dataset = db.execute(
            "SELECT path, metrics, training_run, dataset FROM deepboot_site_trainedmodel WHERE task='tictactoe' ORDER BY id DESC"
        ).fetchone()
    metrics, run = json.loads(metrics), json.loads(run)
    return {
        "method": method, "seed": seed, "command": "python manage.py " + " ".join(command), "wall": wall, "cpu": cpu,
        "seconds": run["seconds"], "episodes": run["config"]["episodes"], "selected": run.get("selected_episode"),
        "lost_x": metrics["lost_lines_x"], "lost_o": metrics["lost_lines_o"],
        "win_x": metrics["win_x_exact"], "win_o": metrics["win_o_exact"], "path": path, "run": run, "dataset": dataset,
        "progress": [line for line in output.splitlines() if line.startswith("episode")],
    }


def value_iteration():
    """Exact Q-values over the position table (expected score vs random, minus 2 for a losing move)."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tictactoe import evaluate
    from tictactoe.positions import position_table

    started, cpu_started = time.monotonic(), time.process_time()
    table = position_table()
    q = np.zeros((table.size, 9), dtype=np.float32)
    for _ in range(10):  # a game lasts at most 5 moves per side
        q = np.nan_to_num(table.bellman_targets(q, 2.0), nan=-9.0)
    check = evaluate.quick_check(lambda boards: q[table.ids(list(boards))])
    return {
        "method": "value-iteration", "seed": "-", "command": "(in bench/tictactoe_train.py)", "wall": time.monotonic() - started,
        "cpu": time.process_time() - cpu_started,
        "seconds": time.monotonic() - started, "episodes": 0, "selected": None,
        "lost_x": check["X"]["lost_lines"], "lost_o": check["O"]["lost_lines"],
        "win_x": check["X"]["win"], "win_o": check["O"]["win"],
    }


def table_rows(results, methods):
    rows = ["| method | seeds | seeds with 0 lost lines | lost lines X / O (mean) | exact win vs random X (%) | O (%) "
            "| episodes (kept checkpoint) | training time (s) | CPU time of the command (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        if not runs:
            continue
        zero = sum(r["lost_x"] + r["lost_o"] == 0 for r in runs)
        selected = [r["selected"] for r in runs if r["selected"]]
        episodes = f"{runs[0]['episodes']}" + (f" ({mean_and_std(selected, digits=0)})" if selected else "")
        rows.append(
            f"| {method} | {len(runs)} | {zero}/{len(runs)} | {mean_and_std([r['lost_x'] for r in runs], digits=1)} / "
            f"{mean_and_std([r['lost_o'] for r in runs], digits=1)} | {mean_and_std([r['win_x'] for r in runs], digits=2, scale=100)} | "
            f"{mean_and_std([r['win_o'] for r in runs], digits=2, scale=100)} | {episodes} | {mean_and_std([r['seconds'] for r in runs], digits=0)} | "
            f"{mean_and_std([r['cpu'] for r in runs], digits=0)} |"
        )
    return rows


def ship(result):
    PRETRAINED.mkdir(exist_ok=True)
    folder = Path(result["site_models"]) / Path(result["path"]).parent
    shutil.copy2(folder / "dqn.keras", PRETRAINED / "dqn.keras")
    shutil.copy2(folder / "curves.png", PRETRAINED / "curves.png")
    run = result["run"]
    keep = ("config", "seconds", "gradient_steps", "transitions", "selected_episode", "episodes_to_unbeatable",
            "seconds_to_unbeatable", "history")
    manifest = {
        "name": f"pretrained-dqn-seed{result['seed']}",
        "dataset": result["dataset"],
        "training_run": {
            "command": result["command"].replace(" --eval-games 1000", "") + " --activate",
            "host": describe_machine(),
            "wall_seconds": round(result["wall"], 1),
            **{k: run.get(k) for k in keep},
            "progress": result["progress"],
        },
        "metrics_at_training": {"lost_lines": result["lost_x"] + result["lost_o"],
                                "win_x_exact": result["win_x"], "win_o_exact": result["win_o"]},
    }
    (PRETRAINED / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"Shipped {PRETRAINED / 'dqn.keras'} ({(PRETRAINED / 'dqn.keras').stat().st_size // 1024} KB).", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--ship", action="store_true", help="Copy the dqn:self run of the first seed into tictactoe/pretrained/.")
    args = parser.parse_args()

    results = []
    with Site() as site:
        site.manage("migrate", "--noinput")
        for method in args.methods:
            if method == "value-iteration":
                results.append(value_iteration())
                print(f"value-iteration: {results[-1]}", file=sys.stderr, flush=True)
                continue
            for seed in args.seeds:
                result = train_once(site, method, seed)
                result["site_models"] = str(site.var / "models")
                results.append(result)
                print(f"{method} seed {seed}: lost {result['lost_x']}/{result['lost_o']}, win "
                      f"{100 * result['win_x']:.2f}% / {100 * result['win_o']:.2f}%, kept episode {result['selected']} "
                      f"of {result['episodes']}, {result['seconds']:.0f} s training, {result['wall']:.0f} s wall, {result['cpu']:.0f} s CPU",
                      file=sys.stderr, flush=True)
                if args.ship and method == "dqn:self" and seed == args.seeds[0]:
                    ship(result)

    print(f"### Tic-tac-toe learners, {len(args.seeds)} seeds ({time.strftime('%Y-%m-%d')})\n")
    print(f"Machine: {describe_machine()}.\n")
    print(f"Command: `.venv/bin/python bench/tictactoe_train.py --seeds {' '.join(map(str, args.seeds))} "
          f"--methods {' '.join(args.methods)}`; each run is `python manage.py train_tictactoe --algo ALGO "
          "[--opponent OPP] --seed S` with the learner's defaults.\n")
    print("\n".join(table_rows(results, args.methods)))
    print("\nPer run (lost lines X/O, exact win % vs random X/O, kept checkpoint, training seconds, CPU seconds):\n")
    for r in results:
        print(f"- {r['method']} seed {r['seed']}: {r['lost_x']}/{r['lost_o']}, {100 * r['win_x']:.2f} / "
              f"{100 * r['win_o']:.2f}, {r['selected']}, {r['seconds']:.0f} s, {r['cpu']:.0f} s")


if __name__ == "__main__":
    main()
