"""The staff-only /runs/ pages and the live run socket."""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from registry import training
from registry.models import TrainingRun
from deepboot_site.routing import websocket_urlpatterns
from tests.deepboot_site.scaled import own_redis_url  # noqa: F401  (a fixture)


def make_run(**fields):
    defaults = {"command": "train_toy", "resume_key": "k", "epochs": [{"epoch": 1, "loss": 0.9, "val_loss": 1.0}]}
    return TrainingRun.objects.create(**{**defaults, **fields})


@pytest.fixture
def staff_client(client):
    user = User.objects.create_user("staff", password="pw-staff-123", is_staff=True)
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/runs/", "/runs/1/", "/runs/1.json"])
def test_runs_pages_need_a_staff_login(client, url):
    make_run(pk=1)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_staff_see_the_list_and_a_run_with_its_epochs(staff_client):
    run = make_run(status="running")
    listing = staff_client.get("/runs/").content.decode()
    assert f'data-run="{run.pk}"' in listing and "status-running" in listing
    detail = staff_client.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="run-data"' in detail and '"val_loss": 1.0' in detail
    data = staff_client.get(f"/runs/{run.pk}.json").json()
    assert data["status"] == "running" and data["epochs"][0]["loss"] == 0.9


@pytest.mark.django_db
def test_unknown_run_is_404_for_staff(staff_client):
    assert staff_client.get("/runs/999/").status_code == 404


def application():
    return AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


@pytest.mark.django_db(transaction=True)
async def test_run_socket_refuses_anonymous_visitors():
    from channels.db import database_sync_to_async

    run = await database_sync_to_async(make_run)()
    communicator = WebsocketCommunicator(application(), f"/ws/runs/{run.pk}/")
    connected, code = await communicator.connect()
    assert not connected and code == 4403


@pytest.mark.django_db(transaction=True)
async def test_run_socket_relays_epochs_published_by_a_training_run(settings):
    from asgiref.sync import sync_to_async
    from django.test import Client

    run = await sync_to_async(make_run)(status="running")
    user = await sync_to_async(User.objects.create_user)("staff", password="x", is_staff=True)
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(application(), f"/ws/runs/{run.pk}/", headers=[(b"cookie", cookie)])
    connected, _ = await communicator.connect()
    assert connected
    await sync_to_async(training.record_epoch)(run, 2, {"loss": 0.5})
    message = await communicator.receive_json_from(timeout=5)
    assert message == {"type": "run", "run": run.pk, "status": "running", "event": "epoch", "epoch": 2, "loss": 0.5}
    await communicator.disconnect()



@pytest.mark.django_db
def test_a_run_whose_process_was_killed_shows_as_interrupted(staff_client):
    import socket

    from tests.registry.test_training import dead_pid

    run = make_run(status="running", host=socket.gethostname(), pid=dead_pid())
    listing = staff_client.get("/runs/").content.decode()
    assert "status-interrupted" in listing and "status-running" not in listing
    data = staff_client.get(f"/runs/{run.pk}.json").json()
    assert data["status"] == "interrupted" and data["pid"] == run.pid and "is gone" in data["error"]


LIVE_SCRIPT = """
import io, sys, time
from pathlib import Path
import django; django.setup()
from registry import training
from tests.registry.test_training import tiny_fit, OPTIONS
go = Path(sys.argv[1])
with training.start_run("train_live", {**OPTIONS, "epochs": 3}, stdout=io.StringIO()) as run:
    print("RUN", run.record.pk, flush=True)
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    tiny_fit(run, epochs=3)
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_relays_epochs_a_training_process_publishes_through_redis(own_redis_url, tmp_path):
    """Two processes joined only by Redis (and the database): a training run publishes each epoch,
    the web worker pushes it to the staff browser's socket as it happens."""
    import json
    import subprocess
    import sys

    from websockets.sync.client import connect

    from tests.conftest import ROOT, free_port, server_env, start_server, stop_process, test_database_url
    from tests.deepboot_site.scaled import staff_cookie

    cookie = staff_cookie()
    env = server_env(DATABASE_URL=test_database_url(), REDIS_URL=own_redis_url, DJANGO_SETTINGS_MODULE="deepboot_site.settings")
    port = free_port()
    server = start_server(port, env, tmp_path / "server.log")
    go = tmp_path / "go"
    trainer = subprocess.Popen(
        [sys.executable, "-c", LIVE_SCRIPT, str(go)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = trainer.stdout.readline()
        assert line.startswith("RUN "), trainer.stderr.read()[-3000:]
        run_id = int(line.split()[1])
        headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}
        events = []
        with connect(f"ws://127.0.0.1:{port}/ws/runs/{run_id}/", additional_headers=headers, open_timeout=30) as socket:
            go.touch()
            while not events or events[-1]["event"] == "epoch":
                events.append(json.loads(socket.recv(timeout=120)))
        assert trainer.wait(timeout=120) == 0, trainer.stderr.read()[-3000:]
    finally:
        if trainer.poll() is None:
            trainer.kill()
        stop_process(server)
    record = TrainingRun.objects.get(pk=run_id)
    assert [e["event"] for e in events] == ["epoch", "epoch", "epoch", "finished"]
    assert [e["epoch"] for e in events[:3]] == [1, 2, 3] and {e["run"] for e in events} == {run_id}
    assert [e["loss"] for e in events[:3]] == pytest.approx([e["loss"] for e in record.epochs])
    assert events[-1]["status"] == record.status == "finished"


@pytest.mark.django_db
def test_the_run_page_names_its_host_and_process(staff_client):
    run = make_run(status="finished", host="gpu-a", pid=4242)
    assert "gpu-a (process 4242)" in staff_client.get(f"/runs/{run.pk}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/runs/compare/?ids=1,2", "/runs/1/files/report.json"])
def test_compare_and_artefact_files_need_a_staff_login(client, url):
    make_run(pk=1)
    make_run(pk=2)
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_run_page_says_epoch_k_of_n_pace_and_attempts(staff_client):
    run = make_run(status="interrupted", arguments={"epochs": 6}, resumed=1,
                   epochs=[{"epoch": 1, "loss": 0.9, "val_accuracy": 0.5}, {"epoch": 2, "loss": 0.7, "val_accuracy": 0.6}])
    page = staff_client.get(f"/runs/{run.pk}/").content.decode()
    assert "epoch 2 of 6" in page and "s per epoch" in page
    data = staff_client.get(f"/runs/{run.pk}.json").json()
    assert data["progress"]["epoch"] == 2 and data["progress"]["of"] == 6 and data["attempt_count"] == 2
    assert data["best_validation"] == {"metric": "val_accuracy", "value": 0.6, "epoch": 2}


@pytest.mark.django_db
def test_the_list_filters_and_sorts_from_the_query_string(staff_client):
    slow = make_run(task="classification", architecture="cnn9", resume_key="a", epochs=[{"epoch": 1, "val_accuracy": 0.4}])
    good = make_run(task="classification", architecture="vgg16", resume_key="b", epochs=[{"epoch": 1, "val_accuracy": 0.9}])
    other = make_run(task="detection", architecture="tiny", resume_key="c")
    page = staff_client.get("/runs/?task=classification&sort=-best").content.decode()
    assert page.index(f'data-run="{good.pk}"') < page.index(f'data-run="{slow.pk}"')
    assert f'data-run="{other.pk}"' not in page
    assert 'href="?task=classification&amp;sort=best"' in page


@pytest.mark.django_db
def test_the_list_offers_runs_to_compare(staff_client):
    run = make_run()
    page = staff_client.get("/runs/").content.decode()
    assert f'name="ids" value="{run.pk}"' in page and 'action="/runs/compare/"' in page


@pytest.mark.django_db
def test_compare_shows_the_differing_hyper_parameters_and_metrics_side_by_side(staff_client):
    a = make_run(arguments={"epochs": 2, "lr": 0.01, "seed": 0}, resume_key="a")
    b = make_run(arguments={"epochs": 2, "lr": 0.001, "seed": 0}, resume_key="b",
                 epochs=[{"epoch": 1, "loss": 0.4, "val_loss": 0.5}])
    response = staff_client.get(f"/runs/compare/?ids={a.pk},{b.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-param="lr"' in page and 'data-param="seed"' not in page and 'data-param="epochs"' not in page
    assert 'data-metric="loss"' in page and "0.9000" in page and "0.4000" in page
    assert 'id="compare-data"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("ids, status, words", [
    ("", 400, "Choose runs"), ("1,abc", 400, "not one: abc"), ("1,999", 404, "No run #999"),
])
def test_bad_compare_ids_get_a_readable_page(staff_client, ids, status, words):
    make_run(pk=1)
    response = staff_client.get(f"/runs/compare/?ids={ids}")
    assert response.status_code == status and words in response.content.decode()
    assert "<h1>Cannot compare</h1>" in response.content.decode()


@pytest.fixture
def run_with_files():
    from tests.registry.test_run_files import run_with_folder

    run, folder = run_with_folder()
    run.resume_key = "files"
    run.save()
    return run, folder


@pytest.mark.django_db
def test_artefacts_are_links_not_server_paths(staff_client, run_with_files):
    run, folder = run_with_files
    page = staff_client.get(f"/runs/{run.pk}/").content.decode()
    assert f'href="/runs/{run.pk}/files/report.json"' in page
    assert f'href="/runs/{run.pk}/files/model.keras?download"' in page
    assert str(folder) not in page and "checkpoints" not in page


@pytest.mark.django_db
def test_an_artefact_is_served_inline_or_as_a_download(staff_client, run_with_files):
    run, _ = run_with_files
    preview = staff_client.get(f"/runs/{run.pk}/files/report.json")
    assert preview.status_code == 200 and b"".join(preview.streaming_content) == b'{"epochs_run": 2}'
    assert preview["Content-Type"].startswith("text/plain") and "attachment" not in preview.get("Content-Disposition", "")
    model = staff_client.get(f"/runs/{run.pk}/files/model.keras")
    assert model.status_code == 200 and 'attachment; filename="model.keras"' == model["Content-Disposition"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["../../secret_key", "%2e%2e/%2e%2e/secret_key", "/etc/passwd", "checkpoints/epoch-1.keras/../../../x"])
def test_no_path_leads_out_of_the_runs_folder(staff_client, run_with_files, path):
    run, _ = run_with_files
    response = staff_client.get(f"/runs/{run.pk}/files/{path}")
    assert response.status_code == 404 and "not a file of this run" in response.content.decode()


@pytest.mark.django_db
def test_the_header_links_to_runs_for_staff_only(staff_client):
    from django.test import Client

    assert 'data-staff-link="runs"' in staff_client.get("/").content.decode()
    assert 'data-staff-link="runs"' not in Client().get("/").content.decode()


@pytest.mark.django_db
def test_the_run_page_shows_who_started_it_the_code_the_note_and_each_attempt(staff_client):
    from registry import attempts

    run = make_run(status="finished", started_by="ada", git_commit="0123abc", note="baseline cnn9")
    attempts.begin(run, "manage.py train_toy", {"activate": False}, "ada")
    attempts.end(run, "interrupted", "stopped")
    attempts.begin(run, "manage.py train_toy --activate", {"activate": True}, "ada")
    page = staff_client.get(f"/runs/{run.pk}/").content.decode()
    assert "ada" in page and "<code data-run-commit>0123abc</code>" in page
    assert "<dd data-run-note>baseline cnn9</dd>" in page
    assert 'data-attempt="1">interrupted: <code>manage.py train_toy</code>' in page
    assert 'data-attempt="2">running: <code>manage.py train_toy --activate</code>' in page
    data = staff_client.get(f"/runs/{run.pk}.json").json()
    assert [(a["number"], a["outcome"]) for a in data["attempts"]] == [(1, "interrupted"), (2, "running")]
    assert data["note"] == "baseline cnn9" and data["started_by"] == "ada" and data["git_commit"] == "0123abc"


def make_demo_run(**fields):
    """A demo run (bootstrap's --demo) training now, in this process."""
    import os
    import socket

    defaults = {"status": "running", "task": "classification", "architecture": "cnn9", "host": socket.gethostname(),
                "pid": os.getpid(), "arguments": {"demo": True, "data": "/srv/secret/data"},
                "command_line": "manage.py train_classifier --data /srv/secret/data --demo", "output_dir": "runs/x"}
    return make_run(**{**defaults, **fields})


@pytest.mark.django_db
def test_a_demo_run_page_is_public_and_read_only(client):
    run = make_demo_run()
    response = client.get(f"/runs/{run.pk}/")
    page = response.content.decode()
    assert response.status_code == 200 and "data-demo-run" in page and "data-run-status" in page
    assert "/srv/secret" not in page and "data-run-attempts" not in page and 'href="/runs/"' not in page


@pytest.mark.django_db
def test_a_demo_run_json_is_public_without_the_servers_details(client):
    run = make_demo_run()
    data = client.get(f"/runs/{run.pk}.json").json()
    assert data["status"] == "running" and data["epochs"] == run.epochs
    assert not {"host", "pid", "command_line", "output_dir", "artifacts"} & set(data)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/runs/", "/runs/{pk}/files/train.log", "/runs/compare/?ids={pk}"])
def test_the_list_and_a_demo_runs_files_stay_staff_only(client, url):
    run = make_demo_run()
    response = client.get(url.format(pk=run.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
async def test_run_socket_accepts_anonymous_visitors_of_a_demo_run():
    from channels.db import database_sync_to_async

    run = await database_sync_to_async(make_demo_run)()
    communicator = WebsocketCommunicator(application(), f"/ws/runs/{run.pk}/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()
