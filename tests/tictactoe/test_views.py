"""The page: a session for the WebSocket, the board and buttons the protocol names, the score."""

import re

import pytest

from tictactoe.models import Game

pytestmark = pytest.mark.django_db


def test_the_page_starts_a_session_for_the_websocket(client):
    from django.conf import settings

    response = client.get("/tictactoe/")
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert client.session.session_key


def test_the_page_has_the_cells_status_and_buttons(client):
    html = client.get("/tictactoe/").content.decode()
    cells = re.findall(r'<button[^>]*data-cell="(\d)"', html)
    assert cells == [str(i) for i in range(9)]
    assert 'data-status=""' in html
    assert 'data-action="new-human-first"' in html and 'data-action="new-ai-first"' in html
    assert re.search(r'<script src="/static/tictactoe/tictactoe\.[0-9a-f]{12}\.js" defer>', html)


def test_no_inline_script_style_or_handlers(client):
    html = client.get("/tictactoe/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)
    assert not re.search(r"\sstyle\s*=", html, re.I)


def test_the_score_counts_this_sessions_finished_games(client):
    client.get("/tictactoe/")
    key = client.session.session_key
    Game.objects.create(owner=key, x_player="human", board="XXXOO....", status="human_won")
    Game.objects.create(owner=key, x_player="ai", board="XXXOO....", status="ai_won")
    Game.objects.create(owner=key, x_player="ai", board="XXXOO....", status="ai_won")
    Game.objects.create(owner=key, x_player="ai", board="X........", status="playing")
    Game.objects.create(owner="someone-else", x_player="human", board="XXXOO....", status="human_won")
    html = client.get("/tictactoe/").content.decode()
    assert re.search(r"data-score-human_won>1<", html)
    assert re.search(r"data-score-ai_won>2<", html)
    assert re.search(r"data-score-draw>0<", html)
