"""A person on /detect/: uploads a demo scene, sees labelled boxes and the table, moves the slider."""

import json

import pytest

from tests.conftest import screenshot
from tests.detector.fixtures import demo_scenes, register_active, trained_detector  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def served_detector(transactional_db, trained_detector):  # noqa: F811
    return register_active(trained_detector)


def set_slider(page, value):
    page.eval_on_selector(
        "#detect-threshold",
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        str(value),
    )


def visible_boxes(page):
    return page.locator("#detect-boxes .detect-box:visible")


def upload_first_scene(page, asgi_server, demo_scenes):
    """Upload the first training scene on /detect/ and return its boxes above a 0.05 threshold."""
    from detector import voc

    image_id = voc.split_ids(demo_scenes, "train")[0]
    page.goto(f"{asgi_server}/detect/")
    page.set_input_files("input[type=file][name=image]", str(demo_scenes / "JPEGImages" / f"{image_id}.jpg"))
    page.wait_for_selector("#detect-boxes .detect-box", state="attached")
    set_slider(page, 0.05)
    boxes = visible_boxes(page)
    assert boxes.count() >= 1
    return boxes


def test_upload_a_demo_scene_and_see_labelled_boxes(page, asgi_server, served_detector, demo_scenes):  # noqa: F811
    boxes = upload_first_scene(page, asgi_server, demo_scenes)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        assert box.get_attribute("data-label") in served_detector.class_names
        assert len(json.loads(box.get_attribute("data-box"))) == 4
        assert box.locator("text").text_content().startswith(box.get_attribute("data-label"))
    rows = page.locator("#detect-table tbody tr[data-score]:visible")
    assert rows.count() == boxes.count()
    assert page.locator("#detect-photo").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "detect-upload")

    set_slider(page, 1.0)
    assert visible_boxes(page).count() == 0
    assert page.locator("#detect-threshold-value").inner_text() == "1.00"
    set_slider(page, 0.05)
    assert visible_boxes(page).count() == boxes.count()
    assert page.console_errors == []


def test_pick_a_sample_scene(page, asgi_server, served_detector):
    page.goto(f"{asgi_server}/detect/")
    page.locator("button.detect-sample").first.click()
    page.wait_for_selector("#detect-result:not([hidden])")
    assert page.locator("#detect-summary").inner_text().strip()
    assert not page.locator("#detect-error").is_visible()
    assert page.console_errors == []


def test_a_file_that_is_not_an_image_shows_the_error(page, asgi_server, served_detector, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    page.goto(f"{asgi_server}/detect/")
    page.set_input_files("input[type=file][name=image]", str(bad))
    page.wait_for_selector("#detect-error:not([hidden])")
    assert "not an image" in page.locator("#detect-error").inner_text()


def test_the_boxes_speak_korean_and_keep_the_class_name(page, asgi_server, served_detector, demo_scenes):  # noqa: F811
    """The tag on each box shows label_display (the reader's language); data-label stays the class."""
    from tests.browser.test_i18n import switch_to_korean

    korean = {"circle": "원", "square": "사각형", "triangle": "삼각형", "star": "별", "cross": "십자", "checker": "체커",
              "stripes": "줄무늬"}
    switch_to_korean(page, asgi_server)
    boxes = upload_first_scene(page, asgi_server, demo_scenes)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        label = box.get_attribute("data-label")
        assert label in served_detector.class_names
        assert box.locator("text").text_content().startswith(korean[label] + " ")
    screenshot(page, "detect-korean")
    assert page.console_errors == []
