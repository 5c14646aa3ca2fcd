"""What the benchmarks share: a throw-away site (var folder, database, models) and its workers.

    with Site(database="postgres", redis=True) as site:     # or database="sqlite", redis=False
        site.manage("migrate")                                # commands against that site
        site.setup("tictactoe.bootstrap.make_demo")                # an app's bootstrap step
        urls = site.start_workers(2)                          # `manage.py serve` on free ports

Everything the site makes lives in a temporary folder; a PostgreSQL database made for the run
(deepboot_bench_<random>) is dropped afterwards, and the Redis keys live in a Redis database
number of their own, flushed afterwards. Only the standard library, psycopg and redis are used.
"""

import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("DEEPBOOT_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DEEPBOOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def describe_machine(tensorflow=False):
    """One line naming the CPU, cores, memory, GPUs, Python and the load when the benchmark started.
    With `tensorflow`, the GPUs are the ones TensorFlow sees (imported here, for the benchmarks that
    run models in-process); otherwise none are used."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    gpus = "no GPU"
    if tensorflow:
        import tensorflow as tf

        found = tf.config.list_physical_devices("GPU")
        names = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in found)
        gpus = f"{len(found)} GPU(s) ({names})" if found else "no GPU"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0]
    return (f"{cores} CPU cores ({model}){memory}, {gpus}, Python {sys.version.split()[0]}, "
            f"load average {load:.1f} at the start")


def _with_path(url, path):
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=path))


class Site:
    """A temporary DeepBoot site: its own var folder, and SQLite or a fresh PostgreSQL database."""

    def __init__(self, database="sqlite", redis=False, extra_env=None, var=None):
        self.database = database
        self.redis = redis
        self.extra_env = dict(extra_env or {})
        self.shared_var = var is not None  # another site's var folder (its models), left in place
        self.var = Path(var) if var is not None else None
        self.db_name = None
        self.redis_url = None
        self.processes = []

    def __enter__(self):
        if self.var is None:
            self.var = Path(tempfile.mkdtemp(prefix="deepboot-bench-"))
        env = {
            "DEEPBOOT_VAR": str(self.var),
            "DJANGO_SETTINGS_MODULE": "deepboot_site.settings",
            "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "CUDA_VISIBLE_DEVICES": "",
            "DEEPBOOT_API_RATE": "100000000/m",
            # The benchmarks open hundreds of games at once from one address.
            "DEEPBOOT_GAMES_PER_MINUTE": "100000000",
            "DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS": "100000000",
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        if self.database == "postgres":
            self.db_name = f"deepboot_bench_{secrets.token_hex(4)}"
            self._admin(f'CREATE DATABASE "{self.db_name}"')
            env["DATABASE_URL"] = _with_path(POSTGRES_URL, "/" + self.db_name)
            # The settings give each worker a connection pool; persistent per-thread connections
            # stay off (requests run in changing threads: they would pile up until PostgreSQL
            # refuses more).
            env["DJANGO_CONN_MAX_AGE"] = "0"
        if self.redis:
            self.redis_url = self._free_redis_database()
            env["REDIS_URL"] = self.redis_url
        self.env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}, **env, **self.extra_env}
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            stop(process)
        if self.db_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self.redis_url:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        if not self.shared_var:
            shutil.rmtree(self.var, ignore_errors=True)

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(sql)

    def _free_redis_database(self):
        """A Redis URL on an empty database number (1-15), so the run shares no keys with others."""
        import redis

        for number in range(15, 0, -1):
            url = _with_path(REDIS_URL, f"/{number}")
            if redis.Redis.from_url(url).dbsize() == 0:
                return url
        raise RuntimeError("No empty Redis database (1-15) to benchmark in.")

    def manage(self, *args, timeout=1800):
        """Run `manage.py ARGS` against this site; returns its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def setup(self, dotted, timeout=1800):
        """Call an app's bootstrap step (`function(stdout=..., style=...)`) against this site."""
        module, function = dotted.rsplit(".", 1)
        script = (
            "import sys, django; django.setup()\n"
            "from django.core.management.base import OutputWrapper\n"
            "from django.core.management.color import color_style\n"
            f"from {module} import {function}\n"
            f"{function}(stdout=OutputWrapper(sys.stdout), style=color_style())\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"{dotted} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def copy_registry_from(self, other):
        """Register here the models `other` registered (same var folder, so the same files)."""
        dump = self.var / f"registry-{secrets.token_hex(3)}.json"
        other.manage("dumpdata", "deepboot_site.TrainedModel", "--output", str(dump))
        self.manage("loaddata", str(dump))
        dump.unlink()

    def stop_workers(self):
        for process in self.processes:
            stop(process)
        self.processes = []

    def start_workers(self, count):
        """Start `count` workers (`manage.py serve`) on free ports; returns their base URLs."""
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        urls = []
        for _ in range(count):
            port = free_port()
            log = open(self.var / f"server-{port}.log", "ab")
            process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
            self.processes.append(process)
            deadline = time.monotonic() + 60
            while not port_open(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"The worker on {port} did not start; see {log.name}")
                time.sleep(0.2)
            urls.append(f"http://127.0.0.1:{port}")
        return urls


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pids):
    """CPU time (user + system, seconds) the processes have used so far, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU time every core of the machine has spent not idle so far (all processes, the kernel's
    own work included), from /proc/stat: over a measurement, how much of the machine was left idle."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user .. steal; guest is in user


def percentile(values, fraction):
    """The nearest-rank percentile (None when empty): the smallest value with at least `fraction`
    of the values at or below it, `sorted(values)[ceil(fraction * n) - 1]`; p50, p90, p95 and p99
    in BENCHMARKS.md are this."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def django_in_throwaway_var():
    """Set Django up in this process over a new temporary var folder (its own SQLite registry),
    migrated; returns the folder. For benchmarks that call the management commands in-process."""
    var = Path(tempfile.mkdtemp(prefix="deepboot-bench-"))
    os.environ["DEEPBOOT_VAR"] = str(var)
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "deepboot_site.settings"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return var


def mean_and_std(values, digits=3, scale=1.0):
    """'mean ± sample standard deviation' of the values (each times `scale`), as published in
    BENCHMARKS.md; a single value alone, since one run has no spread."""
    import statistics

    values = [scale * value for value in values]
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"
