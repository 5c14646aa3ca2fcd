"""In Chromium, as staff: a run's page (progress, legend, a value on hover, a single epoch drawn
as a point), the header's link to /runs/, and the compare view's overlaid curves."""

import pytest

from registry.models import TrainingRun
from tests.conftest import screenshot
from tests.deepboot_site.scaled import staff_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base):
    name, value = staff_cookie().split("=", 1)
    page.context.add_cookies([{"name": name, "value": value, "url": base}])


def make_run(key, epochs, **fields):
    defaults = {"command": "train_classifier", "task": "classification", "architecture": "cnn9",
                "arguments": {"epochs": 4, "lr": 0.001}}
    return TrainingRun.objects.create(**{**defaults, **fields}, resume_key=key, epochs=epochs)


CURVE = [{"epoch": 1, "loss": 0.9, "val_loss": 1.1}, {"epoch": 2, "loss": 0.6, "val_loss": 0.8},
         {"epoch": 3, "loss": 0.4, "val_loss": 0.7}]


def test_a_run_page_has_a_legend_values_on_hover_and_progress(page, asgi_server):
    run = make_run("three", CURVE, status="finished")
    log_in(page, asgi_server)
    page.goto(f"{asgi_server}/runs/{run.pk}/")
    chart = page.locator('[data-charts] figure[data-metric="loss"]')
    assert chart.locator("[data-legend-item]").all_inner_texts() == ["loss", "val_loss"]
    chart.locator('circle[data-point="val_loss"]').nth(1).hover()
    assert chart.locator("[data-chart-tip]").inner_text() == "val_loss, epoch 2: 0.8000"
    assert "epoch 3 of 4" in page.locator("[data-run-progress]").inner_text()
    screenshot(page, "run-page")
    page.click('[data-staff-link="runs"]')
    page.wait_for_url("**/runs/")
    assert page.locator(f'tr[data-run="{run.pk}"]').count() == 1
    assert page.console_errors == []


def test_a_single_epoch_is_drawn_as_a_visible_point(page, asgi_server):
    run = make_run("one", CURVE[:1], status="running", pid=None)
    log_in(page, asgi_server)
    page.goto(f"{asgi_server}/runs/{run.pk}/")
    point = page.locator('figure[data-metric="loss"] circle[data-point="loss"]')
    assert point.count() == 1
    box = point.bounding_box()
    assert box["width"] > 3 and box["height"] > 3


def test_an_interrupted_run_page_notices_the_resume(page, asgi_server):
    run = make_run("resume", CURVE[:1], status="interrupted")
    log_in(page, asgi_server)
    page.clock.install()  # the page's timers, run forward below instead of waited for
    page.goto(f"{asgi_server}/runs/{run.pk}/")
    assert page.locator("[data-run-status]").inner_text() == "interrupted"
    TrainingRun.objects.filter(pk=run.pk).update(status="running", resumed=1, epochs=CURVE[:2])
    page.clock.run_for(5_000)  # a run that is not running is polled every 5 s
    page.locator("[data-run-status]", has_text="running").wait_for(timeout=15_000)
    page.locator('circle[data-point="loss"]').nth(1).wait_for(timeout=15_000)
    assert page.locator("[data-run-attempt-count]").inner_text() == "2"


def test_compare_view_overlays_the_runs_curves(page, asgi_server):
    a = make_run("a", CURVE, status="finished")
    b = make_run("b", CURVE[:1], status="finished", arguments={"epochs": 4, "lr": 0.01})
    log_in(page, asgi_server)
    page.goto(f"{asgi_server}/runs/")
    page.check(f'input[name=ids][value="{a.pk}"]')
    page.check(f'input[name=ids][value="{b.pk}"]')
    page.click("[data-compare-button]")
    page.wait_for_url("**/runs/compare/?ids=*")
    chart = page.locator('[data-charts] figure[data-metric="loss"]')
    assert chart.locator("[data-legend-item]").all_inner_texts() == [f"#{a.pk} loss", f"#{a.pk} val_loss", f"#{b.pk} loss", f"#{b.pk} val_loss"]
    chart.locator(f'circle[data-point="#{b.pk} loss"]').hover()
    assert chart.locator("[data-chart-tip]").inner_text() == f"#{b.pk} loss, epoch 1: 0.9000"
    assert page.locator('[data-differing] tr[data-param="lr"]').count() == 1
    screenshot(page, "run-compare")
    assert page.console_errors == []


def test_the_runs_list_refreshes_by_itself(page, asgi_server):
    first = make_run("first", CURVE, status="finished")
    log_in(page, asgi_server)
    page.clock.install()  # the list's timer, run forward below instead of waited for
    page.goto(f"{asgi_server}/runs/")
    page.check(f'input[name=ids][value="{first.pk}"]')
    later = make_run("later", CURVE[:1], status="running", pid=None)
    page.clock.run_for(5_000)  # the list refreshes every 5 s
    page.locator(f'tr[data-run="{later.pk}"]').wait_for(timeout=15_000)
    assert page.is_checked(f'input[name=ids][value="{first.pk}"]')
    screenshot(page, "runs-list")
    assert page.console_errors == []


def test_artefacts_open_as_previews_and_downloads(page, asgi_server):
    import io

    from PIL import Image

    from tests.registry.test_run_files import run_with_folder

    record, folder = run_with_folder()
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "steelblue").save(picture, format="PNG")
    (folder / "curves.png").write_bytes(picture.getvalue())
    run = make_run("files", CURVE, status="finished", artifacts=record.artifacts)
    log_in(page, asgi_server)
    page.goto(f"{asgi_server}/runs/{run.pk}/")
    thumb = page.locator('[data-artefact="curves.png"] img')
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 40", arg=thumb.element_handle())
    with page.expect_download() as download:
        page.click('[data-artefact="model.keras"] a[download]')
    assert download.value.suggested_filename == "model.keras"
    assert str(folder) not in page.content()
    screenshot(page, "run-artefacts")
    assert page.console_errors == []


def test_a_visitor_follows_a_training_slot_to_its_live_run_read_only(page, asgi_server):
    import os
    import socket

    run = make_run("demo", CURVE[:1], status="running", host=socket.gethostname(), pid=os.getpid(),
                   arguments={"demo": True, "epochs": 4})
    page.clock.install()  # the run page's timer, run forward below instead of waited for
    page.goto(f"{asgi_server}/models/")  # no login
    page.click(f'[data-task="classification"][data-architecture="cnn9"] [data-slot-training] a[data-run-link]')
    page.wait_for_url(f"**/runs/{run.pk}/")
    assert page.locator("[data-demo-run]").count() == 1 and page.locator('[data-staff-link="runs"]').count() == 0
    TrainingRun.objects.filter(pk=run.pk).update(epochs=CURVE[:2])
    page.clock.run_for(2_000)  # a running run is polled every 2 s
    page.locator('circle[data-point="loss"]').nth(1).wait_for(timeout=15_000)  # its curves grow live
    assert "epoch 2 of 4" in page.locator("[data-run-progress]").inner_text()
    assert page.console_errors == []
    screenshot(page, "demo-run-public")
