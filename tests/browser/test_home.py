"""In Chromium: the home page loads and each demo link leads to its page."""

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_and_the_three_demo_links(page, asgi_server):
    page.goto(asgi_server + "/")
    assert page.locator("h1").first.inner_text() == "See deep learning work"
    screenshot(page, "home")
    for demo, path in (("classify", "/classify/"), ("detect", "/detect/"), ("tictactoe", "/tictactoe/")):
        page.goto(asgi_server + "/")
        page.click(f"[data-demo={demo}]")
        page.wait_for_url(f"**{path}")
        assert page.locator("h1").count() == 1
        assert "Page not found" not in page.content()
    assert page.console_errors == []


def test_home_page_fits_a_phone_screen(browser, asgi_server):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(asgi_server + "/")
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "home-phone")
    context.close()
    assert width <= 375
