"""Warm-up (registry/warmup.py): the active models loaded and run once as a server worker starts.

The models are the security tests' small untrained networks (one file each, made once per run).
"""

import gc
import logging
import os
import signal
import threading
import time
import weakref
from pathlib import Path

import pytest
from django.conf import settings

from tests import conftest as harness
from tests.image_corpus import jpeg
from tests.security.conftest import (  # noqa: F401  (fixtures)
    CLASS_NAMES,
    DETECTION_CLASSES,
    classifier_file,
    detector_file,
    dqn_file,
)
from tests.memory import process_tree
from tests.security.servers import json_body, post_files, site_server, wait_until


@pytest.fixture(autouse=True)
def fresh_model_cache():
    """Each test starts with no model loaded in this process and leaves none behind."""
    from registry import registry, warmup

    registry.clear_cache()
    warmup._serving.clear()
    warmup._stopping.clear()
    yield
    registry.clear_cache()
    warmup._serving.clear()
    warmup._stopping.clear()
    gc.unfreeze()  # a settled heap (warmup.settle_heap) is the server's, not the test process's


def register_all(classifier_path, detector_path, dqn_path):
    from registry import registry

    registry.register("classification", "cnn9", classifier_path, activate=True, class_names=CLASS_NAMES,
                      input_size=[32, 32], preprocessing="rescale", layers=9)
    registry.register("detection", "tiny", detector_path, activate=True, class_names=DETECTION_CLASSES,
                      input_size=[64, 64], layers=6)
    registry.register("tictactoe", "dqn", dqn_path, activate=True, layers=3)


def corrupt_copy(source):
    path = Path(settings.MODELS_DIR) / "classification" / "warmup-tests" / "corrupt-cnn9.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(Path(source).read_bytes()[: 1000])
    return path


def warm_threads():
    from registry import warmup

    return [t for t in threading.enumerate() if t.name == warmup.THREAD_NAME]


ALL_SLOTS = {("classification", "cnn9"), ("detection", "tiny"), ("tictactoe", "dqn")}


@pytest.mark.django_db
def test_warm_all_loads_every_active_model_through_the_service_that_serves_it(classifier_file, detector_file, dqn_file):
    from classifier import service as classifier_service
    from registry import registry, warmup
    from tictactoe.agent import Agent

    register_all(classifier_file, detector_file, dqn_file)
    assert set(warmup.warm_all()) == ALL_SLOTS
    assert set(registry._cache) == ALL_SLOTS
    # The cache holds what each service serves (an agent, not a bare Keras model) ...
    assert isinstance(registry._cache[("tictactoe", "dqn")].model, Agent)
    # ... so a request finds the warm copy instead of loading again.
    assert classifier_service.load("cnn9") is registry._cache[("classification", "cnn9")]


@pytest.mark.django_db(transaction=True)
def test_start_warms_in_a_background_thread_before_any_request(classifier_file, detector_file, dqn_file):
    from registry import registry, warmup

    register_all(classifier_file, detector_file, dqn_file)
    thread = warmup.start()
    # Not a daemon: the process waits for it at exit instead of shutting down under TensorFlow.
    assert thread is not None and not thread.daemon
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert set(registry._cache) == ALL_SLOTS
    assert gc.get_freeze_count() > 0  # the warm worker's heap is out of the full collections' way


def test_settling_the_heap_frees_what_an_earlier_settle_froze_once_it_is_garbage():
    """A model replaced after the heap was settled (its objects frozen) is freed at the next settle."""
    from registry import warmup

    class Node:
        pass

    old = Node()
    old.itself = old  # a cycle: only the collector frees it, as with a Keras model
    gone = weakref.ref(old)
    warmup.settle_heap()
    del old
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see it
    warmup.settle_heap()
    assert gone() is None and gc.get_freeze_count() > 0


@pytest.mark.django_db
def test_a_server_shutting_down_ends_the_warm_up_after_the_model_being_warmed(classifier_file, detector_file, dqn_file,
                                                                                monkeypatch, caplog):
    from registry import registry, warmup

    register_all(classifier_file, detector_file, dqn_file)
    warm_one = warmup.warm_one

    def warm_one_then_shut_down(task, architecture):
        warmed = warm_one(task, architecture)
        warmup.stop()  # as the server's shutdown calls it, while this model was warming
        return warmed

    monkeypatch.setattr(warmup, "warm_one", warm_one_then_shut_down)
    with caplog.at_level(logging.INFO, logger="registry.warmup"):
        warm = warmup.warm_all()
    assert len(warm) == 1 and set(registry._cache) == set(warm)
    assert "Warm-up stopped: the server is shutting down" in caplog.text
    warmup._serving.set()
    warmup.after_activation("classification", "cnn9")  # nor does an activation start one now
    assert not warm_threads()


def test_warm_models_off_starts_nothing(settings):
    from registry import warmup

    settings.DEEPBOOT_WARM_MODELS = False
    assert warmup.start() is None
    assert not warm_threads()


@pytest.mark.django_db
def test_a_corrupt_model_file_costs_one_log_line_and_the_others_still_warm(classifier_file, detector_file, dqn_file, caplog):
    from registry import registry, warmup

    register_all(corrupt_copy(classifier_file), detector_file, dqn_file)
    with caplog.at_level(logging.INFO, logger="registry.warmup"):
        warm = warmup.warm_all()
    assert set(warm) == {("detection", "tiny"), ("tictactoe", "dqn")}
    assert ("classification", "cnn9") not in registry._cache
    # The warm-up's own lines: TensorFlow may add a "retracing" warning of its own, depending on
    # which tests ran before in this process.
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("registry")]
    assert len(problems) == 1 and "classification/cnn9" in problems[0].getMessage()
    assert "could not be loaded" in problems[0].getMessage()


def test_importing_the_application_starts_no_warm_up():
    """Tests and management commands import the application without serving it: nothing warms."""
    from deepboot_site.asgi import application  # noqa: F401
    from registry import registry, warmup

    time.sleep(0.2)
    assert not warm_threads() and not warmup._serving.is_set() and not registry._cache


@pytest.mark.django_db(transaction=True)
def test_activating_from_a_management_command_warms_nothing(classifier_file):
    from django.core.management import call_command

    from registry import registry

    record = registry.register("classification", "cnn9", classifier_file, class_names=CLASS_NAMES, layers=9)
    call_command("activate_model", str(record.pk), stdout=open("/dev/null", "w"))
    assert registry.active_record("classification", "cnn9").pk == record.pk
    assert not warm_threads() and not registry._cache


@pytest.mark.django_db(transaction=True)
def test_activating_in_a_serving_worker_warms_the_new_model(classifier_file):
    from registry import registry, warmup

    warmup._serving.set()  # as warmup.start() leaves a serving worker
    record = registry.register("classification", "cnn9", classifier_file, class_names=CLASS_NAMES, layers=9)
    registry.activate_model(record.pk, by="test")
    for thread in warm_threads():
        thread.join(timeout=120)
    assert registry._cache[("classification", "cnn9")].record.pk == record.pk


# ------------------------------------------------------------------------------ a real server


def wait_for_log(path, text, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = Path(path).read_text(errors="replace") if Path(path).exists() else ""
        if text in log:
            return log
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in {path} within {timeout} s:\n{log[-3000:]}")


def cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def server_log(base):
    return Path(settings.LOGS_DIR) / f"server-security-{base.rsplit(':', 1)[1]}.log"


@pytest.mark.django_db(transaction=True)
def test_a_started_server_has_every_active_model_warm_before_its_first_request(classifier_file, detector_file, dqn_file):
    register_all(classifier_file, detector_file, dqn_file)
    env = dict(DEEPBOOT_WARM_MODELS="1", DEEPBOOT_DECODE_PROCESSES="2")
    with site_server(DATABASE_URL=harness.test_database_url(), **env) as (base, process):
        # No request has been made: the port was only probed for a listening socket.
        log = wait_for_log(server_log(base), "Warm-up done")
        for task, architecture in ALL_SLOTS:
            assert f"Warm-up: {task}/{architecture} ready" in log
        assert "Warm-up done: classification/cnn9, detection/tiny, tictactoe/dqn" in log
        # Its two upload decoders have started too, at the lowest CPU priority.
        def decoders():
            return [pid for pid in process_tree(process.pid)[1:] if "spawn_main" in cmdline(pid)]

        assert wait_until(lambda: len(decoders()) == 2), decoders()
        assert all(os.sched_getscheduler(pid) == os.SCHED_IDLE for pid in decoders())


@pytest.mark.django_db(transaction=True)
def test_a_corrupt_model_file_does_not_stop_the_server_and_its_api_says_unavailable(classifier_file, detector_file, dqn_file):
    register_all(corrupt_copy(classifier_file), detector_file, dqn_file)
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_WARM_MODELS="1") as (base, _):
        log = wait_for_log(server_log(base), "Warm-up done")
        assert log.count("Warm-up: classification/cnn9 is unavailable") == 1
        assert "Warm-up done: detection/tiny, tictactoe/dqn" in log
        status, _, body = post_files(base + "/api/classify/", [("image", "a.jpg", jpeg())], timeout=60)
        assert status == 503 and "could not be loaded" in json_body(body)["error"]
        assert post_files(base + "/api/detect/", [("image", "a.jpg", jpeg())], timeout=60)[0] == 200


@pytest.mark.django_db(transaction=True)
def test_a_server_stopped_while_it_warms_exits_cleanly(classifier_file, detector_file, dqn_file):
    """SIGTERM as the first model is ready, the others still to warm: the worker ends its warm-up
    and exits with status 0 (a daemon thread inside TensorFlow at exit made it crash or hang)."""
    register_all(classifier_file, detector_file, dqn_file)
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_WARM_MODELS="1") as (base, process):
        log = wait_for_log(server_log(base), " ready in ")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        log = server_log(base).read_text(errors="replace")
        assert "Warm-up stopped: the server is shutting down" in log or "Warm-up done" in log
