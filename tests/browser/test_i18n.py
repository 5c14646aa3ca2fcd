"""In Chromium against the real server, in Korean: the header's switcher sets the language for the
whole site, then a game of tic-tac-toe is played, a sample is classified and a demo run is watched."""

import pytest

from tests.browser.test_classify import WAIT_MS, active, model_files  # noqa: F401  (fixtures)
from tests.browser.test_tictactoe import FIRST_STATE_MS, play_out
from tests.conftest import screenshot
from tests.tictactoe.agents import active_agent, shipped_dqn_file  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KOREAN_LABELS = {"체커", "원", "사각형", "별", "줄무늬", "삼각형"}
KOREAN_ENDINGS = {"ai_won": "AI가 이겼습니다. 새 게임을 할까요?", "draw": "무승부입니다. 새 게임을 할까요?"}


def switch_to_korean(page, server):
    page.goto(server + "/")
    assert page.get_attribute("html", "lang") == "en"
    page.select_option("[data-language]", "ko")
    with page.expect_navigation():
        page.click("[data-language-submit]")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.locator("h1").inner_text() == "딥러닝이 일하는 모습을 보세요"


def test_a_game_played_in_korean(page, asgi_server, active_agent):
    switch_to_korean(page, asgi_server)
    page.goto(asgi_server + "/tictactoe/")  # the choice is remembered on the next page
    assert page.get_attribute("html", "lang") == "ko"
    assert page.locator("[data-message]").inner_text() == "누가 먼저 둘지 고르세요."
    page.click("[data-action=new-human-first]")
    page.wait_for_selector('[data-status="playing"]', timeout=FIRST_STATE_MS)
    assert page.locator("[data-status]").inner_text() == "진행 중"
    assert page.locator("[data-message]").inner_text() == "당신 차례입니다. 당신은 X입니다."
    assert page.get_attribute('[data-cell="4"]', "aria-label").startswith("4번 칸: 비어 있음")
    play_out(page)
    final = page.get_attribute("[data-status]", "data-status")
    assert final in KOREAN_ENDINGS  # the DQN never loses
    assert page.locator("[data-message]").inner_text() == KOREAN_ENDINGS[final]
    screenshot(page, "tictactoe-korean")
    assert page.console_errors == []


def test_a_sample_classified_in_korean(page, asgi_server, active):
    switch_to_korean(page, asgi_server)
    page.goto(asgi_server + "/classify/")
    assert page.locator("h1").inner_text() == "9층, 16층, 152층 네트워크로 이미지 분류하기"
    sample = page.locator("[data-sample]").first
    assert sample.get_attribute("title") in KOREAN_LABELS
    with page.expect_response(lambda r: r.url.endswith("/api/classify/"), timeout=WAIT_MS) as answer:
        sample.click()
    assert answer.value.status == 200
    average = page.locator("[data-testid=results] [data-model=average]")
    average.wait_for(timeout=WAIT_MS)
    assert average.locator("h2").inner_text().startswith("평균")
    labels = page.locator("[data-testid=results] .label").all_inner_texts()
    assert labels and set(labels) <= KOREAN_LABELS
    assert "추론:" in page.locator("[data-model=cnn9] .latency").inner_text()
    screenshot(page, "classify-korean")
    assert page.console_errors == []


def test_a_public_demo_run_drawn_in_korean(page, asgi_server):
    """The run's script redraws the status, the progress and the charts in the page's language;
    the data-* attributes keep the raw status and metric names."""
    import os
    import socket

    from tests.browser.test_runs import CURVE, make_run

    run = make_run("demo-ko", CURVE[:2], status="running", host=socket.gethostname(), pid=os.getpid(),
                   arguments={"demo": True, "epochs": 4})
    switch_to_korean(page, asgi_server)
    page.goto(f"{asgi_server}/runs/{run.pk}/")
    page.locator('circle[data-point="loss"]').nth(1).wait_for(timeout=15_000)
    assert page.locator("[data-run-status]").inner_text() == "실행 중"
    assert page.locator("[data-run-status]").get_attribute("class") == "status status-running"
    assert page.locator("[data-run-progress]").inner_text().startswith("에포크 2 / 4")
    chart = page.locator('figure[data-metric="loss"]')
    assert chart.locator("svg").get_attribute("aria-label") == "에포크별 loss"
    chart.locator('circle[data-point="val_loss"]').nth(1).hover()
    assert chart.locator("[data-chart-tip]").inner_text() == "val_loss, 에포크 2: 0.8000"
    screenshot(page, "run-korean")
    assert page.console_errors == []
