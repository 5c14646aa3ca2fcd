"""The site's agent replaced when another model is activated; the statements a stored move takes.
(The agent itself: test_agent.py; the protocol around the stored games is tested through the
consumer, test_consumers.py.)"""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import TrainedModel
from tictactoe import networks, service
from tictactoe.agent import Agent
from tictactoe.evaluate import positions_to_move
from tictactoe.models import Game, Move
from tictactoe.positions import encode


@pytest.mark.django_db
def test_activating_another_model_replaces_the_table(active_agent, shipped_dqn_file, tmp_path):
    from registry import registry

    first = service.active_agent()
    other = networks.build_q_network(hidden_units=8)  # untrained: values unlike the shipped network's
    path = networks.save(other, str(shipped_dqn_file.parent / "other.keras"))
    record = registry.register("tictactoe", "dqn", path, activate=True)
    second = service.active_agent()
    assert (first.model_id, second.model_id) == (active_agent.pk, record.pk)
    boards = list(positions_to_move())
    expected = networks.q_values_of(other, encode(boards))
    np.testing.assert_allclose([second.agent.q_row(b) for b in boards], expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose([first.agent.q_row(b) for b in boards], expected)


def statements(captured):
    """The SQL sent, without the transaction's own statements (BEGIN, COMMIT, savepoints)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    return [q["sql"] for q in captured if not q["sql"].upper().startswith(control)]


@pytest.mark.django_db
def test_a_move_on_the_state_the_connection_holds_takes_two_statements_and_reads_nothing(active_agent):
    state = service.new_game("owner", "human").state
    with CaptureQueriesContext(connection) as captured:
        outcome = service.play("owner", state.game, 4, state)
    sql = statements(captured)
    assert len(sql) == 2, sql  # the game's UPDATE (while its model is active), one INSERT of both moves
    assert sql[0].startswith("UPDATE") and TrainedModel._meta.db_table in sql[0] and sql[1].startswith("INSERT")
    game = Game.objects.get(pk=state.game)
    assert game.board == outcome.state.board and game.board[4] == "X" and game.agent_id == active_agent.pk
    assert list(game.moves.values_list("number", "player", "cell")) == [(1, "human", 4), (2, "ai", outcome.state.ai_move)]


@pytest.mark.django_db
def test_a_model_activated_elsewhere_replies_to_the_next_move(active_agent, shipped_dqn_file):
    """Another worker (or an admin) activates another model: this process still holds the old one,
    the move's UPDATE does not apply, and the move is played again by the model now active."""
    state = service.new_game("owner", "human").state  # the shipped agent is loaded here
    other = networks.build_q_network(hidden_units=8)
    path = networks.save(other, str(shipped_dqn_file.parent / "elsewhere.keras"))
    TrainedModel.objects.filter(pk=active_agent.pk).update(active=False)  # as another process would
    newer = TrainedModel.objects.create(task="tictactoe", architecture="dqn", path=str(path), active=True)
    outcome = service.play("owner", state.game, 4, state).state
    game = Game.objects.get(pk=state.game)
    assert game.agent_id == newer.pk and game.moves.get(number=2).player == "ai"
    table = Agent(networks.q_function(other))
    assert outcome.ai_move == table.choose(game.board[:outcome.ai_move] + "." + game.board[outcome.ai_move + 1:])[0]


@pytest.mark.django_db
def test_the_rows_a_move_writes_with_its_own_sql_read_back_through_the_orm(active_agent):
    """tictactoe/store.py writes the move without the ORM: the ORM reads back what it would have saved."""
    state = service.new_game("owner", "human").state
    before = Game.objects.get(pk=state.game)
    outcome = service.play("owner", state.game, 0, state).state
    game = Game.objects.get(pk=state.game)
    assert (game.board, game.status, game.owner, game.agent_id) == (outcome.board, "playing", "owner", active_agent.pk)
    assert game.updated > before.updated and game.created == before.created
    human, ai = game.moves.all()
    assert (human.number, human.player, human.mark, human.cell, human.q_values) == (1, "human", "X", 0, None)
    assert (ai.number, ai.player, ai.mark, ai.cell) == (2, "ai", "O", outcome.ai_move)
    # The agent's values as it chose, a JSON list: null on the cell the human had taken.
    assert ai.q_values[0] is None and len(ai.q_values) == 9 and all(isinstance(v, float) for v in ai.q_values[1:])
    assert before.created <= human.created <= ai.created


@pytest.mark.django_db
def test_a_move_without_the_connections_state_reads_the_game_locked_in_four_statements(active_agent):
    state = service.new_game("owner", "human").state
    with CaptureQueriesContext(connection) as captured:
        service.play("owner", state.game, 4)
    sql = statements(captured)
    assert len(sql) == 4, sql  # the game, the active model's id, the game's UPDATE, the moves' INSERT
    assert TrainedModel._meta.db_table not in sql[2]  # the game read and locked: the model's id just asked
    assert Move.objects.filter(game_id=state.game).count() == 2


@pytest.mark.django_db
def test_a_stale_state_is_checked_against_the_stored_game(active_agent):
    stale = service.new_game("owner", "human").state
    now = service.play("owner", stale.game, 0, stale).state  # another tab plays in the same game
    taken = now.ai_move
    with pytest.raises(service.GameError) as refused:
        service.play("owner", stale.game, taken, stale)  # free on the stale board, not in the database
    assert refused.value.code == "occupied"
    free = next(c for c in range(9) if now.board[c] == ".")
    after = service.play("owner", stale.game, free, stale).state
    assert after.board[0] == after.board[free] == "X" and after.board[taken] == "O"
    numbers = list(Move.objects.filter(game_id=stale.game).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]


@pytest.mark.django_db
def test_a_state_of_another_owner_does_not_move_their_game(active_agent):
    theirs = service.new_game("them", "human").state
    with pytest.raises(service.GameError) as refused:
        service.play("me", theirs.game, 4, theirs)
    assert refused.value.code == "forbidden"
    assert Game.objects.get(pk=theirs.game).board == "." * 9
