"""`make run`: the site serves at once while the demo models train in the background; stopping the
server stops that training, and the next `make run` resumes it."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request
import warnings

import pytest

from registry.records import pid_alive
from tests.conftest import ROOT, free_port, server_env

pytestmark = pytest.mark.slow


def start_make_run(var, port, log):
    env = server_env(DEEPBOOT_VAR=var, PORT=port)
    for name in ("DATABASE_URL", "REDIS_URL", "DEEPBOOT_TEST_VAR"):
        env.pop(name, None)  # its own SQLite database and in-memory channel layer under `var`
    # -o: the shared virtualenv is installed already; the test does not reinstall it.
    return subprocess.Popen(["make", "-o", ".venv/.installed-runtime", "run", f"PORT={port}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} within {seconds} s")


def stop(process, sig=signal.SIGINT):
    """Ctrl-C in the terminal (SIGINT), or a service manager's SIGTERM, to make's whole process group.
    If it is still there after 120 s, the failure lists what is left of the group, has each Python
    process (the server, a command) print its threads' stacks into its log (SIGUSR1,
    deepboot.stopping), and kills the group."""
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        left = subprocess.run(["ps", "-o", "pid,ppid,stat,wchan:20,etime,args", "-g", str(process.pid)],
                              capture_output=True, text=True).stdout
        for line in left.splitlines()[1:]:
            if "python" in line:
                os.kill(int(line.split()[0]), signal.SIGUSR1)
        time.sleep(2)
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(f"make run was still running 120 s after {signal.Signals(sig).name}:\n{left}") from None


def run_row(var, pk):
    with sqlite3.connect(var / "db.sqlite3") as db:
        status, pid, resumed, arguments = db.execute(
            "SELECT status, pid, resumed, arguments FROM deepboot_site_trainingrun WHERE id = ?", (pk,)).fetchone()
    return {"status": status, "pid": pid, "resumed": resumed, "arguments": json.loads(arguments)}


@pytest.fixture
def logs_shown_on_failure(tmp_path):
    """The test's folder; the ends of make's and the demo training's logs are printed after the test
    (pytest shows them only when it fails). A process whose exit got stuck and was ended by
    deepboot.stopping.exit_watched is a warning, with the stacks it printed."""
    yield tmp_path
    training_log = tmp_path / "var" / "logs" / "demo-training.log"
    text = training_log.read_text(errors="replace") if training_log.exists() else ""
    if "Timeout (" in text:
        warnings.warn("the demo training's exit got stuck and was ended after the grace; its stacks:\n"
                      + text[text.index("Timeout ("):][:4000])
    for log in (tmp_path / "make-run.log", tmp_path / "var" / "logs" / "demo-training.log"):
        if log.exists():
            print(f"--- the end of {log.name} ---", *log.read_text(errors="replace").splitlines()[-60:], sep="\n")


def test_make_run_serves_while_the_demo_trains_stops_it_and_resumes_it(logs_shown_on_failure):
    tmp_path = logs_shown_on_failure
    var, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "make-run.log", "ab") as log:
        process = start_make_run(var, port, log)
        try:
            models = wait_for(lambda: get(f"{base}/models/"), 300, "the site did not answer")
            assert 'data-task="tictactoe" data-architecture="dqn" data-model-id=' in models  # the agent is ready
            link = wait_for(lambda: re.search(r'data-slot-training[^<]*<a href="/runs/(\d+)/"', get(f"{base}/models/")),
                            300, "no slot showed its demo run training")
            pk = int(link.group(1))
            # A visitor (no login) watches it learn; the server answers before the training ends.
            live = wait_for(lambda: (d := json.loads(get(f"{base}/runs/{pk}.json")))["epochs"] and d, 300,
                            "the demo run finished no epoch")
            assert live["status"] == "running" and "host" not in live
        finally:
            stop(process)
        stopped = wait_for(lambda: (row := run_row(var, pk))["status"] == "interrupted" and row, 60,
                           "the demo run did not stop with the server")
        assert stopped["arguments"]["demo"] is True
        wait_for(lambda: not pid_alive(stopped["pid"]), 60, "the training process outlived the server")

        process = start_make_run(var, port, log)
        try:
            wait_for(lambda: (d := json.loads(get(f"{base}/runs/{pk}.json")))["status"] == "running" and d["resumed"],
                     300, "the next make run did not resume the demo run")
        finally:
            stop(process, signal.SIGTERM)
        resumed = wait_for(lambda: (row := run_row(var, pk))["status"] == "interrupted" and row, 60,
                           "the resumed demo run did not stop with the server")
        wait_for(lambda: not pid_alive(resumed["pid"]), 60, "the training process outlived the server")
