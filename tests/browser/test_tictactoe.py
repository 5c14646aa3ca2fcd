"""In Chromium, against the real server and the shipped DQN: play whole games by clicking cells,
by keyboard, and survive a dropped connection and a reload."""

import re

import pytest

from tests.conftest import screenshot
from tests.tictactoe.agents import active_agent, shipped_dqn_file  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_STATE_MS = 90_000  # the server process loads TensorFlow and the model on the first game


def board(page):
    return "".join(page.locator(f'[data-cell="{i}"] .ttt-mark').inner_text() or "." for i in range(9))


def status(page):
    return page.get_attribute("[data-status]", "data-status")


def wait_for_marks(page, count, timeout=20_000):
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('[data-cell] .ttt-mark')).filter(e => e.textContent).length >= n",
        arg=count,
        timeout=timeout,
    )


def play_out(page):
    """Click the first free cell on each turn until the game ends."""
    while status(page) == "playing":
        current = board(page)
        marks = 9 - current.count(".")
        page.click(f'[data-cell="{current.index(".")}"]')
        # Our mark and the DQN's reply, or our mark ending the game.
        page.wait_for_function(
            "n => { const k = Array.from(document.querySelectorAll('[data-cell] .ttt-mark'))"
            ".filter(e => e.textContent).length;"
            " const s = document.querySelector('[data-status]').getAttribute('data-status');"
            " return k >= n + 2 || (s !== 'playing' && k >= n + 1); }",
            arg=marks,
        )


def test_a_whole_game_played_by_clicking_cells(page, asgi_server, active_agent):
    page.goto(asgi_server + "/tictactoe/")
    assert page.locator("[data-cell]").count() == 9
    page.click("[data-action=new-human-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    # The heat map: each empty cell shows the DQN's value of playing there.
    assert all(page.locator(f'[data-cell="{i}"] .ttt-q').inner_text() for i in range(9))
    screenshot(page, "tictactoe-start")
    page.click('[data-cell="0"]')
    wait_for_marks(page, 2)
    assert board(page)[0] == "X" and board(page).count("O") == 1
    assert page.locator('[data-cell="0"] .ttt-q').inner_text() == ""  # no value on a taken cell
    play_out(page)
    final = status(page)
    assert final in ("ai_won", "draw")  # the DQN never loses
    if final == "ai_won":
        assert page.locator("[data-cell].win").count() == 3
    score = {k: page.locator(f"[data-score-{k}]").inner_text() for k in ("human_won", "ai_won", "draw")}
    assert score[final] == "1" and sum(int(v) for v in score.values()) == 1
    assert page.locator("[data-cell] .ttt-q:not(:empty)").count() == 0
    screenshot(page, "tictactoe-finished")
    assert page.console_errors == []


def test_the_values_shown_are_the_moves_values_for_the_human_with_a_legend(page, asgi_server, active_agent):
    from tictactoe import engine

    page.goto(asgi_server + "/tictactoe/")
    assert "for you" in page.locator("[data-legend]").inner_text()
    page.click("[data-action=new-ai-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    wait_for_marks(page, 1)
    # After the AI's opening some replies lose and some draw: red and neutral, as the game says.
    expected = {cell: {-1: "lose", 0: "draw", 1: "win"}[v] for cell, v in engine.move_values(board(page)).items()}
    shown = {cell: page.get_attribute(f'[data-cell="{cell}"]', "data-value") for cell in expected}
    assert shown == expected
    assert {"lose", "draw"} <= set(shown.values())
    screenshot(page, "tictactoe-values")


def test_the_ai_opens_and_the_game_can_be_played_by_keyboard(page, asgi_server, active_agent):
    page.goto(asgi_server + "/tictactoe/")
    page.click("[data-action=new-ai-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    wait_for_marks(page, 1)
    opening = board(page)
    assert opening.count("X") == 1 and opening.count("O") == 0
    page.focus('[data-cell="0"]')
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.cell") == "1"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.cell") == "4"
    if opening[4] != ".":
        page.keyboard.press("ArrowRight")
    free = int(page.evaluate("document.activeElement.dataset.cell"))
    page.keyboard.press("Enter")
    wait_for_marks(page, 3)
    assert board(page)[free] == "O"
    assert "you are O" in page.inner_text("[data-message]")


def test_a_dropped_connection_is_announced_then_resumed(page, asgi_server, active_agent):
    sockets = []

    def through(route):
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r".*/ws/tictactoe/$"), through)
    page.goto(asgi_server + "/tictactoe/")
    page.click("[data-action=new-human-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    page.click('[data-cell="4"]')
    wait_for_marks(page, 2)
    before = board(page)

    sockets[-1].close()  # the network drops the connection
    page.wait_for_selector("[data-connection]:not([hidden])")
    assert "Connection lost" in page.inner_text("[data-connection]")
    screenshot(page, "tictactoe-dropped")
    free = before.index(".")
    page.click(f'[data-cell="{free}"]')  # while it is down: sent once it is back
    page.wait_for_selector("[data-connection][hidden]", state="attached", timeout=20_000)
    wait_for_marks(page, 4)
    assert len(sockets) >= 2
    after = board(page)
    assert after[free] == "X" and all(after[i] == before[i] for i in range(9) if before[i] != ".")


def test_a_reload_resumes_the_game(page, asgi_server, active_agent):
    page.goto(asgi_server + "/tictactoe/")
    page.click("[data-action=new-ai-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    wait_for_marks(page, 1)
    free = board(page).index(".")
    page.click(f'[data-cell="{free}"]')
    wait_for_marks(page, 3)
    before = board(page)
    page.reload()
    wait_for_marks(page, 3)
    assert board(page) == before and status(page) == "playing"


def test_the_page_fits_a_phone_screen(browser, asgi_server):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto(asgi_server + "/tictactoe/")
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "tictactoe-phone")
    context.close()
    assert width <= 375
