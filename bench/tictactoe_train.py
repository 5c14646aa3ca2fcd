"""Train the tic-tac-toe DQN from scratch to unbeatable on this machine: wall time and episodes.

    .venv/bin/python bench/tictactoe_train.py [--seed 1] [--ship]

In a throw-away site it runs `manage.py train_tictactoe --algo dqn --seed S --activate` (the
defaults: 4,000 episodes, an exact evaluation every 500), then `manage.py evaluate_tictactoe
--games 10000`, and prints a Markdown block for BENCHMARKS.md: the wall time of the command,
the training time, the first evaluation at which the agent lost no line and was within one point
of both win-rate limits, and the evaluation's output.

--ship copies the trained dqn.keras and curves.png into tictactoe/pretrained/ with manifest.json,
which is what `manage.py bootstrap` installs. The run is deterministic for a seed, so shipping
again gives the same weights.
"""

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import ROOT, Site, describe_machine  # noqa: E402

PRETRAINED = ROOT / "tictactoe" / "pretrained"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ship", action="store_true", help="Copy the result into tictactoe/pretrained/.")
    args = parser.parse_args()

    with Site() as site:
        site.manage("migrate", "--noinput")
        command = ["train_tictactoe", "--algo", "dqn", "--seed", str(args.seed), "--activate"]
        started = time.monotonic()
        train_output = site.manage(*command)
        wall = time.monotonic() - started
        report_path = site.var / "evaluation.json"
        evaluate_output = site.manage("evaluate_tictactoe", "--games", "10000", "--json", str(report_path))
        report = json.loads(report_path.read_text())
        with sqlite3.connect(site.var / "db.sqlite3") as db:
            path, run = db.execute(
                "SELECT path, training_run FROM deepboot_site_trainedmodel WHERE task='tictactoe' AND active"
            ).fetchone()
        run = json.loads(run)

        print(f"### DQN from scratch, seed {args.seed} ({time.strftime('%Y-%m-%d')})\n")
        print(f"Machine: {describe_machine()}.\n")
        print(f"`python manage.py {' '.join(command)}`: {wall:.0f} s wall time in all (TensorFlow import, "
              f"training, saving, the final 10,000-game evaluation); training alone {run['seconds']:.0f} s, "
              f"{run['gradient_steps']} gradient steps over {run['config']['episodes']} episodes.\n")
        if run["episodes_to_unbeatable"]:
            print(f"First evaluation with 0 lost lines and both exact win rates within one point of the limits: "
                  f"episode {run['episodes_to_unbeatable']}, after {run['seconds_to_unbeatable']:.0f} s of training.\n")
        print("Exact evaluations during training (episode: lost lines X/O, exact win % vs random X/O):\n")
        for c in run["history"]:
            print(f"- {c['episode']}: {c['lost_lines_x']}/{c['lost_lines_o']}, {100 * c['win_x']:.2f}% / {100 * c['win_o']:.2f}%")
        print("\n`python manage.py evaluate_tictactoe --games 10000`:\n\n```")
        print(evaluate_output.rstrip())
        print("```")
        progress = [line for line in train_output.splitlines() if line.startswith("episode")]
        if not report["unbeatable"]:
            print("\nWARNING: the trained agent loses lines.", file=sys.stderr)

        if args.ship:
            source = site.var / "models" / Path(path).parent
            PRETRAINED.mkdir(exist_ok=True)
            shutil.copy2(source / "dqn.keras", PRETRAINED / "dqn.keras")
            shutil.copy2(source / "curves.png", PRETRAINED / "curves.png")
            keep = ("config", "seconds", "gradient_steps", "episodes_to_unbeatable", "seconds_to_unbeatable", "history")
            manifest = {
                "name": f"pretrained-dqn-seed{args.seed}",
                "training_run": {
                    "command": "python manage.py " + " ".join(command),
                    "host": describe_machine(),
                    "wall_seconds": round(wall, 1),
                    **{k: run[k] for k in keep},
                    "progress": progress,
                },
                "metrics_at_training": {k: report[k] for k in ("lost_lines", "within_one_point")}
                | {"win_x": report["vs_random"]["X"]["win"], "win_o": report["vs_random"]["O"]["win"]},
            }
            (PRETRAINED / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            print(f"\nShipped {PRETRAINED / 'dqn.keras'} ({(PRETRAINED / 'dqn.keras').stat().st_size // 1024} KB).", file=sys.stderr)


if __name__ == "__main__":
    main()
