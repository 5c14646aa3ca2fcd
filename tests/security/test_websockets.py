"""The WebSockets hold: foreign origins refused at the handshake, oversized messages and floods
answered with an error and then a close, arbitrary input (Hypothesis) always answered with a
valid frame or a clean close and never an impossible stored game, and a game moved only by the
browser session that owns it."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from tests.security.game_rules import check_frame, check_stored_games
from tictactoe.consumers import CLOSE_POLICY, CLOSE_TOO_BIG
from tictactoe.models import Game

GAME_PATH = "/ws/tictactoe/"
ALLOWED_ORIGIN = b"http://127.0.0.1:8000"


def socket(path=GAME_PATH, origin=ALLOWED_ORIGIN, cookie=None):
    """A client of the whole ASGI application (origin check, sessions, routing), as the server runs it."""
    from deepboot_site.asgi import application  # built on first use, after the static files are collected

    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_frame(communicator, timeout=5):
    """('text', str) for a frame, ('close', code) for a close."""
    output = await communicator.receive_output(timeout)
    if output["type"] == "websocket.close":
        return "close", output.get("code", 1000)
    assert output["type"] == "websocket.send", output
    assert output.get("text") is not None, "the consumer answers in text frames"
    return "text", output["text"]


# ---------------------------------------------------------------------------------------------
# Origins


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", [GAME_PATH, "/ws/runs/1/"])
@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example", b"http://127.0.0.1.evil.example", b"https://localhost.evil.example:8000", b"null", None,
        b"http://127.0.0.1:9999", b"http://127.0.0.1", b"https://127.0.0.1", b"https://127.0.0.1:8000",
        b"ws://127.0.0.1:8000", b"http://127.0.0.1:8000/page", b"http://user@127.0.0.1:8000",
    ],
    ids=[
        "foreign", "suffix-trick", "prefix-trick", "null", "missing",
        "other-port", "default-port", "https-default-port", "https-same-port", "ws-scheme", "with-path", "with-user",
    ],
)
async def test_foreign_origins_are_refused_at_the_handshake(path, origin):
    communicator = socket(path, origin=origin)
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [b"http://127.0.0.1:8000", b"http://localhost:8000", b"http://[::1]:8000"])
async def test_origins_of_an_allowed_host_on_the_sockets_own_scheme_and_port_are_accepted(active_dqn, origin):
    communicator = socket(origin=origin)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "new", "first": "human"})
    assert check_frame((await receive_frame(communicator))[1])["type"] == "state"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_behind_an_https_proxy_only_https_origins_of_the_proxied_host_are_accepted(active_dqn, settings):
    settings.HTTPS = True
    for origin, accepted in [(b"https://127.0.0.1:8000", True), (b"http://127.0.0.1:8000", False)]:
        communicator = socket(origin=origin)
        connected, _ = await communicator.connect()
        assert connected is accepted, origin
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_real_server_refuses_another_port_or_scheme_of_its_own_host(active_dqn, asgi_server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    uri = asgi_server.replace("http://", "ws://") + GAME_PATH
    port = asgi_server.rsplit(":", 1)[1]
    for origin in ["http://127.0.0.1:9999", "https://127.0.0.1", f"https://127.0.0.1:{port}", "http://127.0.0.1"]:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(uri, origin=origin, open_timeout=10):
                pass
        assert refused.value.response.status_code == 403, origin


@pytest.mark.django_db(transaction=True)
async def test_real_server_refuses_a_foreign_origin_and_serves_an_allowed_one(active_dqn, asgi_server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    uri = asgi_server.replace("http://", "ws://") + GAME_PATH
    with pytest.raises(InvalidStatus) as refused:
        async with connect(uri, origin="http://evil.example", open_timeout=10):
            pass
    assert refused.value.response.status_code == 403
    async with connect(uri, origin=asgi_server, open_timeout=10) as websocket:
        await websocket.send(json.dumps({"type": "new", "first": "ai"}))  # the first game loads the agent
        state = check_frame(await asyncio.wait_for(websocket.recv(), 90))
        assert state["type"] == "state" and state["board"].count(".") == 8


# ---------------------------------------------------------------------------------------------
# Size and floods


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": json.dumps({"type": "move", "cell": 4, "pad": "x" * 4100})},
        {"text_data": "é" * 2049},  # 4098 bytes in UTF-8, 2049 characters
        {"bytes_data": b"\0" * 5000},
        {"text_data": "x" * 1_000_000},
    ],
    ids=["json-4kb", "multibyte-4kb", "binary-5kb", "text-1mb"],
)
async def test_messages_over_4kb_get_an_error_then_a_close(frame):
    communicator = socket()
    assert (await communicator.connect())[0]
    await communicator.send_to(**frame)
    kind, text = await receive_frame(communicator)
    assert kind == "text" and json.loads(text)["code"] == "too_large"
    assert await receive_frame(communicator) == ("close", CLOSE_TOO_BIG)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_message_of_exactly_4kb_is_still_read():
    communicator = socket()
    assert (await communicator.connect())[0]
    message = json.dumps({"type": "move", "cell": 4, "pad": ""})
    message = message.replace('""', '"' + "x" * (4096 - len(message)) + '"')
    assert len(message.encode()) == 4096
    await communicator.send_to(text_data=message)
    kind, text = await receive_frame(communicator)
    assert kind == "text" and json.loads(text)["code"] == "no_game"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_flood_gets_an_error_then_a_close():
    communicator = socket()
    assert (await communicator.connect())[0]
    for _ in range(40):
        await communicator.send_json_to({"type": "move", "cell": 0})
    codes = []
    while True:
        kind, value = await receive_frame(communicator)
        if kind == "close":
            break
        codes.append(json.loads(value)["code"])
    assert value == CLOSE_POLICY
    assert codes[-1] == "flood" and set(codes[:-1]) == {"no_game"}
    assert len(codes) <= 21, "nothing is answered after the flood error"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_real_server_closes_on_oversized_message_and_flood(active_dqn, asgi_server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    uri = asgi_server.replace("http://", "ws://") + GAME_PATH
    async with connect(uri, origin=asgi_server, open_timeout=10) as websocket:
        await websocket.send("y" * 10_000)
        assert json.loads(await asyncio.wait_for(websocket.recv(), 10))["code"] == "too_large"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(websocket.recv(), 10)
        assert websocket.close_code == CLOSE_TOO_BIG
    async with connect(uri, origin=asgi_server, open_timeout=10) as websocket:
        for _ in range(50):
            await websocket.send('{"type": "move", "cell": 1}')
        codes = []
        with pytest.raises(ConnectionClosed):
            while True:
                codes.append(json.loads(await asyncio.wait_for(websocket.recv(), 10))["code"])
        assert codes[-1] == "flood" and websocket.close_code == CLOSE_POLICY
    # Past the server's own 1 MB message limit (WS_MAX_MESSAGE) the server drops the connection (a 1009 close frame,
    # or a reset while the client is still sending) without buffering more.
    async with connect(uri, origin=asgi_server, open_timeout=10, max_size=None) as websocket:
        with pytest.raises(ConnectionClosed):
            await websocket.send(b"z" * (3 * 1024 * 1024))
            await asyncio.wait_for(websocket.recv(), 10)
        assert websocket.close_code in (1009, 1006)
    async with connect(uri, origin=asgi_server, open_timeout=10) as websocket:
        await websocket.send(json.dumps({"type": "new", "first": "human"}))
        assert check_frame(await asyncio.wait_for(websocket.recv(), 90))["type"] == "state", "still serving"


# ---------------------------------------------------------------------------------------------
# Ownership


async def new_game(communicator, first="human"):
    await communicator.send_json_to({"type": "new", "first": first})
    return check_frame((await receive_frame(communicator))[1])


def stored(game_id):
    game = Game.objects.get(pk=game_id)
    return game.board, game.status, game.owner, game.updated, list(game.moves.values_list("number", "cell"))


@pytest.mark.django_db(transaction=True)
async def test_another_session_cannot_resume_or_move_someone_elses_game(active_dqn):
    owner = socket()
    assert (await owner.connect())[0]
    state = await new_game(owner)
    await owner.send_json_to({"type": "move", "cell": 4})
    state = check_frame((await receive_frame(owner))[1])
    before = await sync_to_async(stored)(state["game"])

    intruder = socket()  # another browser: no cookie, so its own fresh session
    assert (await intruder.connect())[0]
    attempts = [
        {"type": "resume", "game": state["game"]},
        {"type": "move", "cell": 0, "game": state["game"]},
        {"type": "resume", "game": state["game"].upper()},
        {"type": "resume", "game": str(uuid.uuid4())},
        {"type": "resume", "game": "../" + state["game"]},
        {"type": "move", "cell": 8},
    ]
    for attempt in attempts:
        await intruder.send_json_to(attempt)
        kind, text = await receive_frame(intruder)
        answer = json.loads(text)
        assert answer["type"] == "error", f"{attempt} was obeyed: {answer}"
        assert state["board"] not in text, "no view of someone else's game either"
    assert await sync_to_async(stored)(state["game"]) == before, "the game did not change"

    await owner.send_json_to({"type": "resume", "game": state["game"]})
    assert check_frame((await receive_frame(owner))[1])["board"] == state["board"]
    await owner.disconnect()
    await intruder.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_owner_resumes_from_a_new_connection_with_the_same_session_cookie(active_dqn, client):
    from django.conf import settings

    client.get("/tictactoe/")
    client.session.save()
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}".encode()
    first = socket(cookie=cookie)
    assert (await first.connect())[0]
    state = await new_game(first)
    await first.disconnect()
    second = socket(cookie=cookie)
    assert (await second.connect())[0]
    await second.send_json_to({"type": "resume", "game": state["game"]})
    assert check_frame((await receive_frame(second))[1])["game"] == state["game"]
    await second.disconnect()


# ---------------------------------------------------------------------------------------------
# Arbitrary input (Hypothesis)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
cells = st.integers(-2, 11) | st.sampled_from([True, 4.0, "4", None, [4], {"cell": 4}, 2**64])
games = st.sampled_from(["", "not-a-uuid", str(uuid.UUID(int=0)), "0" * 36, "' OR 1=1 --"]) | st.uuids().map(str)
protocol_like = st.one_of(
    st.fixed_dictionaries({"type": st.just("new"), "first": st.sampled_from(["human", "ai", "HUMAN", "", 1, None])}),
    st.fixed_dictionaries({"type": st.just("move"), "cell": cells}),
    st.fixed_dictionaries({"type": st.just("move"), "cell": st.integers(0, 8)}),
    st.fixed_dictionaries({"type": st.just("resume"), "game": games}),
    st.fixed_dictionaries({"type": st.sampled_from(["new", "move", "resume", "state", "error", "", 7])}, optional={"cell": cells, "game": games, "first": json_values}),
)
frames = st.one_of(
    protocol_like.map(lambda message: ("text", json.dumps(message))),
    json_values.map(lambda value: ("text", json.dumps(value))),
    st.text(max_size=60).map(lambda text: ("text", text)),
    st.binary(max_size=60).map(lambda data: ("bytes", data)),
    st.text(min_size=1400, max_size=1500).map(lambda text: ("text", text * 3)),  # sometimes over 4 KB
)


async def play_frames(sequence):
    """Send the frames; every one gets exactly one valid answer until the consumer closes cleanly."""
    communicator = socket()
    connected, _ = await communicator.connect()
    assert connected
    try:
        for kind, payload in sequence:
            # As the server delivers frames (empty ones included, which send_to() refuses).
            await communicator.send_input({"type": "websocket.receive", kind: payload})
            answer, value = await receive_frame(communicator)
            assert answer == "text"
            message = check_frame(value)
            if message["type"] == "error" and message["code"] in ("too_large", "flood"):
                closing = CLOSE_TOO_BIG if message["code"] == "too_large" else CLOSE_POLICY
                assert await receive_frame(communicator) == ("close", closing)
                return
        assert await communicator.receive_nothing(0.05), "one answer per message, nothing more"
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@hypothesis_settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=st.lists(frames, min_size=1, max_size=12))
def test_arbitrary_frames_get_valid_answers_and_never_an_impossible_game(active_dqn, sequence):
    asyncio.run(play_frames(sequence))
    check_stored_games()


@pytest.mark.django_db(transaction=True)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=st.sampled_from(["human", "ai"]), cells=st.lists(st.integers(0, 8), min_size=1, max_size=12))
def test_games_played_with_arbitrary_moves_stay_possible(active_dqn, first, cells):
    sequence = [("text", json.dumps({"type": "new", "first": first}))]
    sequence += [("text", json.dumps({"type": "move", "cell": cell})) for cell in cells]
    asyncio.run(play_frames(sequence))
    check_stored_games()
