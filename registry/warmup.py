"""Warm-up: every active model loaded and run once when a server worker starts, not on the first request.

A model's first use costs its load and TensorFlow's trace of its predict function (some 21 s for
ResNet152 on a CPU); without a warm-up the first request after a start pays it. `start()` is called
by `deepboot_site.asgi` at the server's start-up (the ASGI lifespan), so only in a serving worker (every worker of
several warms its own copy; management commands and tests that merely import the application never
start it). It warms in a background thread, so the worker accepts connections at once: a request
for a model still warming waits for it on `registry.load_active`'s per-slot lock and gets the same
loaded copy, never a second load.

A server stopping (SIGTERM, Ctrl-C) calls `stop()`: the warm-up ends after the model it is warming
and the process waits for that one. The thread is not a daemon on purpose: a daemon thread still
inside TensorFlow while the interpreter shuts down made the worker crash (a segmentation fault)
or hang at exit, and `make run` then waited for it.

The registry caches whatever the serving code's loader returns (a Keras model, a tic-tac-toe
`Agent`), so a model is warmed through the service that serves it: each app declares, as its
TaskSlots' `warm`, a function of its service taking the architecture that loads it the way a
request would (the classifier's and detector's loaders run one prediction on a blank input of the
model's input shape; the tic-tac-toe agent computes its Q rows of every position) and returns
something false for an architecture it does not serve (only the first active detector serves).
Active models of undeclared slots are left alone. A model whose file is missing or corrupt
costs one log line; the page then shows the registry's "unavailable" message as before.

Once warm, the worker's heap is settled (`settle_heap`): what it holds then (TensorFlow, Keras, the
models, Django) is moved out of the garbage collector's reach, so its full collections scan only
what requests make. They took 90–190 ms each here, every second or two under a hundred players,
and were the moves' p99; a replaced model's objects are let back in and freed when the new one is warm.

DEEPBOOT_WARM_MODELS=0 turns it off (the models then load on their first request).
"""

import gc
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils.module_loading import import_string

from . import registry, slots

logger = logging.getLogger(__name__)
THREAD_NAME = "deepboot-warm-models"
_serving = threading.Event()  # set once this process is a serving worker that warms
_stopping = threading.Event()  # set when the worker shuts down: warm nothing more


def warm_one(task, architecture):
    """Load and warm one slot's active model through its app's service; True when it is warm, False
    when the app declares no warm-up, the model is unavailable (logged) or it is not served."""
    declared = slots.for_task(task)
    if declared is None or not declared.warm or registry.find_slot(task, architecture) is None:
        return False
    started = time.perf_counter()
    try:
        served = import_string(declared.warm)(architecture)
    except registry.ModelUnavailable as exc:
        logger.warning("Warm-up: %s/%s is unavailable: %s", task, architecture, exc)
        return False
    if served:
        logger.info("Warm-up: %s/%s ready in %.1f s", task, architecture, time.perf_counter() - started)
    return bool(served)


def warm_all():
    """Warm every active model; returns the (task, architecture) pairs now warm."""
    warm = []
    try:
        records = registry.active_records()
    except DatabaseError as exc:  # e.g. a worker started before `migrate`
        logger.warning("Warm-up skipped: the registry cannot be read (%s)", exc.__class__.__name__)
        return warm
    for record in records:
        if _stopping.is_set():
            logger.info("Warm-up stopped: the server is shutting down")
            break
        try:
            if warm_one(record.task, record.architecture):
                warm.append((record.task, record.architecture))
        except Exception:  # noqa: BLE001 - a model that fails in an unforeseen way must not stop the
            # others from warming; its request path raises again and answers as it always did.
            logger.exception("Warm-up: %s/%s failed", record.task, record.architecture)
    logger.info("Warm-up done: %s", ", ".join(f"{t}/{a}" for t, a in warm) or "no model")
    return warm


def settle_heap():
    """Collect what is garbage now, then freeze the rest (gc.freeze): full collections skip it from
    here on. Unfreezing first lets objects frozen earlier (a model since replaced) be collected."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    logger.info("Heap settled: %d objects frozen in %.2f s", gc.get_freeze_count(), time.perf_counter() - started)


def _run():
    try:
        warm_all()
        if not _stopping.is_set():  # a worker shutting down has no heap to keep tidy
            settle_heap()
    finally:
        connections.close_all()  # this thread's own connections


def start():
    """In a serving worker: warm every active model in a background thread (returned), unless
    DEEPBOOT_WARM_MODELS is off (None)."""
    if not settings.DEEPBOOT_WARM_MODELS:
        return None
    _serving.set()
    return _in_background(_run)


def stop():
    """The server is shutting down: warm nothing after the model being warmed now."""
    _stopping.set()


def after_activation(task, architecture):
    """Warm a newly activated model in a serving worker that warms (a no-op elsewhere: commands)."""
    if _serving.is_set() and not _stopping.is_set():
        _in_background(lambda: _warm_and_close(task, architecture))


def _warm_and_close(task, architecture):
    try:
        if warm_one(task, architecture):
            settle_heap()
    finally:
        connections.close_all()


def _in_background(target):
    thread = threading.Thread(target=target, name=THREAD_NAME, daemon=False)  # see the module docstring
    thread.start()
    return thread
