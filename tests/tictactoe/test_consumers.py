"""The WebSocket protocol, through the whole ASGI application (origin check, sessions, routing),
against the shipped DQN: states, every error code, ownership, storage and resume after a restart."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from registry import registry
from deepboot_site.asgi import application
from tictactoe import engine
from tictactoe.consumers import CLOSE_POLICY, CLOSE_TOO_BIG, FLOOD_MESSAGES, MAX_MESSAGE_BYTES, GameDatabaseCall
from tictactoe.models import Game, Move

pytestmark = pytest.mark.django_db(transaction=True)


def new_session_cookie():
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["tictactoe"] = True
    store.create()
    return store.session_key, f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def connect(cookie=None, origin=b"http://127.0.0.1:8000"):
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin)]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/tictactoe/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def ask(communicator, message):
    if isinstance(message, (dict, list)):
        await communicator.send_json_to(message)
    else:  # as the server delivers a text frame (empty ones included, which send_to() refuses)
        await communicator.send_input({"type": "websocket.receive", "text": message})
    return await communicator.receive_json_from(timeout=20)


async def expect_error(communicator, message, code):
    answer = await ask(communicator, message)
    assert answer["type"] == "error", answer
    assert answer["code"] == code, answer
    assert answer["message"]
    return answer


def stored_game(game_id):
    game = Game.objects.get(pk=game_id)
    return game.board, game.status, game.owner, list(game.moves.values_list("number", "player", "mark", "cell"))


def check_state(state):
    assert set(state) == {"type", "game", "board", "you", "status", "turn", "ai_move", "q_values", "winning_line"}
    assert state["type"] == "state"
    uuid.UUID(state["game"])
    if state["q_values"] is not None:
        assert len(state["q_values"]) == 9
        assert all((q is None) == (state["board"][c] != ".") for c, q in enumerate(state["q_values"]))
    return state


async def test_new_game_with_the_human_first(active_agent):
    ws = await connect()
    state = check_state(await ask(ws, {"type": "new", "first": "human"}))
    assert state["board"] == "........." and state["you"] == "X"
    assert state["status"] == "playing" and state["turn"] == "human"
    assert state["ai_move"] is None and state["winning_line"] is None
    assert all(isinstance(q, float) for q in state["q_values"])
    board, status, owner, moves = await sync_to_async(stored_game)(state["game"])
    assert (board, status, moves) == (".........", "playing", [])
    assert owner  # the connection got a session of its own
    await ws.disconnect()


async def test_new_game_with_the_ai_first_has_its_opening_move(active_agent):
    ws = await connect()
    state = check_state(await ask(ws, {"type": "new", "first": "ai"}))
    assert state["you"] == "O" and state["turn"] == "human"
    assert state["board"].count("X") == 1 and state["board"][state["ai_move"]] == "X"
    assert state["q_values"][state["ai_move"]] is None
    _, _, _, moves = await sync_to_async(stored_game)(state["game"])
    assert moves == [(1, "ai", "X", state["ai_move"])]
    await ws.disconnect()


async def test_a_move_is_answered_with_the_ai_reply_and_both_are_stored(active_agent):
    ws = await connect()
    game = (await ask(ws, {"type": "new", "first": "human"}))["game"]
    state = check_state(await ask(ws, {"type": "move", "cell": 0}))
    assert state["board"][0] == "X" and state["board"].count("O") == 1
    assert state["board"][state["ai_move"]] == "O" and state["ai_move"] != 0
    assert state["turn"] == "human"
    _, _, _, moves = await sync_to_async(stored_game)(game)
    assert moves == [(1, "human", "X", 0), (2, "ai", "O", state["ai_move"])]
    assert await sync_to_async(lambda: Move.objects.get(game_id=game, number=2).q_values[0])() is None
    await ws.disconnect()


@pytest.mark.parametrize("first", ["human", "ai"])
async def test_a_whole_game_ends_without_the_human_winning(active_agent, first):
    ws = await connect()
    state = check_state(await ask(ws, {"type": "new", "first": first}))
    while state["status"] == "playing":
        # The human plays the move the AI values least for them: it should still not win.
        legal = [c for c, q in enumerate(state["q_values"]) if q is not None]
        cell = min(legal, key=lambda c: state["q_values"][c])
        state = check_state(await ask(ws, {"type": "move", "cell": cell}))
    assert state["status"] in ("ai_won", "draw")
    assert state["turn"] is None and state["q_values"] is None
    if state["status"] == "ai_won":
        mark, line = engine.winner_and_line(state["board"])
        assert mark != state["you"] and state["winning_line"] == list(line)
    else:
        assert "." not in state["board"] and state["winning_line"] is None
    board, status, _, moves = await sync_to_async(stored_game)(state["game"])
    assert (board, status) == (state["board"], state["status"])
    assert len(moves) == 9 - board.count(".")
    await expect_error(ws, {"type": "move", "cell": board.index(".") if "." in board else 0}, "game_over")
    await ws.disconnect()


def lowest_cell_agent():
    """A real DQN file whose network always prefers the lowest free cell (zero weights, falling biases)."""
    import numpy as np
    from django.conf import settings

    from tictactoe import networks

    model = networks.build_q_network(4)
    last = model.get_layer("q_values")
    last.set_weights([np.zeros((4, 9), dtype="float32"), -np.arange(9, dtype="float32")])
    path = networks.save(model, str(settings.MODELS_DIR / "tictactoe" / "tests" / f"{uuid.uuid4()}.keras"))
    return registry.register("tictactoe", "dqn", path, activate=True)


async def test_the_human_wins_against_an_agent_that_blunders():
    await sync_to_async(lowest_cell_agent)()
    ws = await connect()
    await ask(ws, {"type": "new", "first": "human"})
    assert (await ask(ws, {"type": "move", "cell": 4}))["ai_move"] == 0
    assert (await ask(ws, {"type": "move", "cell": 2}))["ai_move"] == 1
    state = check_state(await ask(ws, {"type": "move", "cell": 6}))  # the line 2-4-6
    assert state["board"] == "OOX.X.X.."
    assert state["status"] == "human_won" and state["winning_line"] == [2, 4, 6]
    assert state["turn"] is None and state["ai_move"] is None and state["q_values"] is None
    await expect_error(ws, {"type": "move", "cell": 8}, "game_over")
    await ws.disconnect()


@pytest.mark.parametrize(
    "frame",
    ["not json", "[1, 2]", '"move"', "", "{\"type\": \"move\", \"cell\": 4", "[" * 2000 + "]" * 2000],
    ids=["text", "array", "string", "empty", "truncated", "nested-under-4kb"],
)
async def test_bad_json_is_an_error_and_the_connection_stays_open(active_agent, frame):
    ws = await connect()
    await expect_error(ws, frame, "bad_json")
    check_state(await ask(ws, {"type": "new", "first": "human"}))
    await ws.disconnect()


async def test_a_binary_frame_is_bad_json():
    ws = await connect()
    await ws.send_to(bytes_data=b'{"type": "new"}')
    answer = await ws.receive_json_from()
    assert answer["code"] == "bad_json"
    await ws.disconnect()


@pytest.mark.parametrize("message", [{}, {"type": "dance"}, {"type": 3}, {"type": "state"}, {"kind": "new"}])
async def test_unknown_types_are_errors(message):
    ws = await connect()
    await expect_error(ws, message, "unknown_type")
    await ws.disconnect()


@pytest.mark.parametrize("message", [{"type": "new"}, {"type": "new", "first": "HUMAN"}, {"type": "resume"}, {"type": "resume", "game": 5}])
async def test_malformed_fields_are_bad_requests(message):
    ws = await connect()
    await expect_error(ws, message, "bad_request")
    await ws.disconnect()


async def test_a_move_before_any_game_is_refused():
    ws = await connect()
    await expect_error(ws, {"type": "move", "cell": 4}, "no_game")
    await ws.disconnect()


@pytest.mark.parametrize("cell", [-1, 9, 100, "4", 4.0, True, None, [4]])
async def test_out_of_range_cells_are_refused_and_the_game_is_unchanged(active_agent, cell):
    ws = await connect()
    state = await ask(ws, {"type": "new", "first": "ai"})
    before = await sync_to_async(stored_game)(state["game"])
    await expect_error(ws, {"type": "move", "cell": cell}, "out_of_range")
    await expect_error(ws, {"type": "move"}, "out_of_range")
    assert await sync_to_async(stored_game)(state["game"]) == before
    assert check_state(await ask(ws, {"type": "resume", "game": state["game"]}))["board"] == state["board"]
    await ws.disconnect()


async def test_an_occupied_cell_is_rejected_and_the_board_unchanged(active_agent):
    ws = await connect()
    state = await ask(ws, {"type": "new", "first": "ai"})
    before = await sync_to_async(stored_game)(state["game"])
    await expect_error(ws, {"type": "move", "cell": state["ai_move"]}, "occupied")
    assert await sync_to_async(stored_game)(state["game"]) == before
    free = state["board"].index(".")
    assert check_state(await ask(ws, {"type": "move", "cell": free}))["board"][free] == "O"
    await ws.disconnect()


async def test_without_a_model_new_games_are_refused_with_the_command_to_run():
    ws = await connect()
    answer = await expect_error(ws, {"type": "new", "first": "human"}, "ai_unavailable")
    assert "manage.py" in answer["message"]
    assert await sync_to_async(Game.objects.count)() == 0
    await ws.disconnect()


async def test_when_the_agent_is_gone_mid_game_the_move_is_kept_and_the_ai_owes_its_reply(active_agent):
    ws = await connect()
    state = await ask(ws, {"type": "new", "first": "human"})
    game = state["game"]
    await sync_to_async(lambda: type(active_agent).objects.filter(pk=active_agent.pk).update(active=False))()
    state = check_state(await ask(ws, {"type": "move", "cell": 4}))
    assert state["board"] == "....X...." and state["turn"] == "ai" and state["q_values"] is None
    assert (await ws.receive_json_from())["code"] == "ai_unavailable"
    await expect_error(ws, {"type": "move", "cell": 0}, "not_your_turn")
    assert (await sync_to_async(stored_game)(game))[0] == "....X...."
    await sync_to_async(registry.activate_model)(active_agent.pk)
    state = check_state(await ask(ws, {"type": "resume", "game": game}))
    assert state["turn"] == "human" and state["board"].count("O") == 1 and state["ai_move"] is not None
    await ws.disconnect()


@pytest.mark.parametrize("game", ["7d4f6c1e-0b9a-4c43-9a4e-2f5d8e3b6a10", "not-a-uuid", ""])
async def test_resuming_an_unknown_game_is_not_found(game):
    ws = await connect()
    await expect_error(ws, {"type": "resume", "game": game}, "not_found")
    await ws.disconnect()


async def test_another_session_can_neither_resume_nor_move_in_a_game(active_agent):
    _, cookie_a = await sync_to_async(new_session_cookie)()
    _, cookie_b = await sync_to_async(new_session_cookie)()
    owner = await connect(cookie_a)
    state = await ask(owner, {"type": "new", "first": "human"})
    state = await ask(owner, {"type": "move", "cell": 4})
    before = await sync_to_async(stored_game)(state["game"])

    other = await connect(cookie_b)
    await expect_error(other, {"type": "resume", "game": state["game"]}, "forbidden")
    await expect_error(other, {"type": "move", "cell": 0}, "no_game")  # it never got the game
    assert await sync_to_async(stored_game)(state["game"]) == before
    await owner.disconnect()
    await other.disconnect()


async def test_games_belong_to_the_browser_session_of_the_cookie(active_agent):
    key, cookie = await sync_to_async(new_session_cookie)()
    ws = await connect(cookie)
    state = await ask(ws, {"type": "new", "first": "human"})
    assert (await sync_to_async(stored_game)(state["game"]))[2] == key
    await ws.disconnect()


async def test_a_client_without_a_session_gets_one_of_its_own(active_agent):
    from django.contrib.sessions.models import Session

    ws = await connect(cookie=b"sessionid=expired-or-forged")
    state = await ask(ws, {"type": "new", "first": "human"})
    owner = (await sync_to_async(stored_game)(state["game"]))[2]
    assert owner != "expired-or-forged"
    assert await sync_to_async(Session.objects.filter(session_key=owner).exists)()
    await ws.disconnect()


async def test_resume_after_a_restart_continues_where_the_game_stood(active_agent):
    _, cookie = await sync_to_async(new_session_cookie)()
    ws = await connect(cookie)
    state = await ask(ws, {"type": "new", "first": "human"})
    state = await ask(ws, {"type": "move", "cell": 0})
    await ws.disconnect()

    registry.clear_cache()  # a new process: nothing in memory but the database
    again = await connect(cookie)
    resumed = check_state(await ask(again, {"type": "resume", "game": state["game"]}))
    assert resumed["board"] == state["board"] and resumed["turn"] == "human" and resumed["ai_move"] is None
    assert resumed["q_values"] is not None
    free = resumed["board"].index(".")
    moved = check_state(await ask(again, {"type": "move", "cell": free}))
    assert moved["board"].count("X") == 2 and moved["game"] == state["game"]
    _, _, _, moves = await sync_to_async(stored_game)(state["game"])
    assert len(moves) == 9 - moved["board"].count(".")
    await again.disconnect()


async def test_resume_of_a_finished_game_shows_its_result(active_agent):
    _, cookie = await sync_to_async(new_session_cookie)()
    ws = await connect(cookie)
    state = await ask(ws, {"type": "new", "first": "human"})
    while state["status"] == "playing":
        state = await ask(ws, {"type": "move", "cell": state["board"].index(".")})
    resumed = check_state(await ask(ws, {"type": "resume", "game": state["game"]}))
    assert {k: resumed[k] for k in ("board", "status", "winning_line")} == {
        k: state[k] for k in ("board", "status", "winning_line")
    }
    assert resumed["turn"] is None and resumed["q_values"] is None
    await ws.disconnect()


async def test_a_message_over_4kb_gets_an_error_then_a_close():
    ws = await connect()
    await ws.send_to(text_data=json.dumps({"type": "move", "cell": 1, "pad": "x" * MAX_MESSAGE_BYTES}))
    assert (await ws.receive_json_from())["code"] == "too_large"
    closed = await ws.receive_output()
    assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_TOO_BIG
    await ws.disconnect()


async def test_a_flood_gets_an_error_then_a_close():
    ws = await connect()
    for _ in range(FLOOD_MESSAGES + 5):
        await ws.send_json_to({"type": "dance"})
    codes = []
    while True:
        output = await ws.receive_output()
        if output["type"] == "websocket.close":
            break
        codes.append(json.loads(output["text"])["code"])
    assert output["code"] == CLOSE_POLICY
    assert codes == ["unknown_type"] * FLOOD_MESSAGES + ["flood"]
    await ws.disconnect()


async def test_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/tictactoe/", headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_socket_behind_another_tab_of_the_same_game_is_judged_by_the_stored_game(active_agent):
    # Each socket remembers the last state it was sent (a move then skips reading the game); the
    # other tab's moves make that state stale, and the stored game decides.
    key, cookie = await sync_to_async(new_session_cookie)()
    first, second = await connect(cookie), await connect(cookie)
    started = check_state(await ask(first, {"type": "new", "first": "human"}))
    assert check_state(await ask(second, {"type": "resume", "game": started["game"]}))["board"] == "." * 9
    played = check_state(await ask(first, {"type": "move", "cell": 0}))
    await expect_error(second, {"type": "move", "cell": played["ai_move"]}, "occupied")
    free = played["board"].index(".")
    after = check_state(await ask(second, {"type": "move", "cell": free}))
    assert after["board"][0] == after["board"][free] == "X" and after["board"][played["ai_move"]] == "O"
    board, _, owner, moves = await sync_to_async(stored_game)(started["game"])
    assert board == after["board"] and owner == key
    assert [number for number, *_ in moves] == [1, 2, 3, 4]
    await first.disconnect()
    await second.disconnect()


async def test_game_calls_run_on_the_game_threads_and_keep_their_database_connection():
    import threading

    from django.db import connection

    def which():
        connection.ensure_connection()
        return threading.current_thread().name, id(connection.connection)

    (thread, opened), (again, kept) = [await GameDatabaseCall(which)() for _ in range(2)]
    assert thread.startswith("games") and again == thread
    assert kept == opened  # SQLite has no pool: the thread's connection stays open between calls


async def test_frames_skip_channels_hop_to_close_its_threads_connections(active_agent, monkeypatch):
    """Channels closes its own database thread's old connections before every frame; the games'
    work runs on GAME_THREADS, so game frames skip that hop (a tenth of the loop's time)."""
    import channels.consumer

    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    ws = await connect()
    state = check_state(await ask(ws, {"type": "new", "first": "human"}))
    state = check_state(await ask(ws, {"type": "move", "cell": state["board"].index(".")}))
    await ws.disconnect()
    assert hops == [] and state["ai_move"] is not None
