"""The staff-only /runs/ pages and the live run socket."""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from deepboot_site import training
from deepboot_site.models import TrainingRun
from deepboot_site.routing import websocket_urlpatterns


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

    from tests.deepboot_site.test_training import dead_pid

    run = make_run(status="running", host=socket.gethostname(), pid=dead_pid())
    listing = staff_client.get("/runs/").content.decode()
    assert "status-interrupted" in listing and "status-running" not in listing
    data = staff_client.get(f"/runs/{run.pk}.json").json()
    assert data["status"] == "interrupted" and data["pid"] == run.pid and "is gone" in data["error"]
