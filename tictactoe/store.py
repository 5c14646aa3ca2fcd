"""A move's two statements, with their SQL written once: the game's row updated only while it is
still as the connection last saw it (and while the agent that replied is still the active one),
and the move rows inserted in one statement.

The ORM's `filter(...).update(...)` and `bulk_create` spent about 0.6 ms of a move building SQL
that never changes (their execution on SQLite takes some 0.05 ms), at hundreds of moves a second.
The values still go through each model field's own conversion for the connection
(`get_db_prep_save`: UUIDs, datetimes, JSON), and the tables and columns come from the models'
`_meta`, so a changed model changes these statements with it. Everything else about games uses
the ORM.
"""

from django.db import connections, router
from django.utils import timezone

from registry.models import TrainedModel

from .models import Game, Move

_sql: dict[tuple[str, str, str, int], str] = {}


def _connection(model):
    return connections[router.db_for_write(model)]


def _statement(connection, name, rows, build):
    key = (connection.alias, connection.vendor, name, rows)
    sql = _sql.get(key)
    if sql is None:
        sql = _sql[key] = build(connection.ops.quote_name)
    return sql


def _prepared(connection, model, values):
    """{field name: value} -> the values as `connection` stores them, in the same order."""
    fields = [model._meta.get_field(name) for name in values]
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values())]


def update_if_unchanged(game, owner, seen_board):
    """Write `game`'s board, status, agent and update time, only where the stored game is this
    owner's, still playing and still shows `seen_board`, and where `game.agent_id` is set (the
    agent replied), only while that model is still active: the move needs no query of its own to
    learn whether another worker or an admin has activated another one since. True when it wrote
    (one row); False sends the caller to read the game and the active model."""
    connection = _connection(Game)
    changes = {"board": game.board, "status": game.status, "updated": timezone.now()}
    if game.agent_id is not None:
        changes["agent"] = game.agent_id
    where = {"id": game.pk, "owner": owner, "board": seen_board, "status": Game.Status.PLAYING}
    active = {TrainedModel._meta.pk.name: game.agent_id, "active": True} if game.agent_id is not None else {}

    def build(quote):
        column = {name: quote(Game._meta.get_field(name).column) for name in [*changes, *where]}
        assignments = ", ".join(f"{column[name]} = %s" for name in changes)
        conditions = " AND ".join(f"{column[name]} = %s" for name in where)
        if active:
            model = {name: quote(TrainedModel._meta.get_field(name).column) for name in active}
            conditions += (f" AND EXISTS (SELECT 1 FROM {quote(TrainedModel._meta.db_table)} WHERE "
                           + " AND ".join(f"{model[name]} = %s" for name in active) + ")")
        return f"UPDATE {quote(Game._meta.db_table)} SET {assignments} WHERE {conditions}"

    sql = _statement(connection, "update-" + "-".join(changes), 1, build)
    params = [*_prepared(connection, Game, changes), *_prepared(connection, Game, where),
              *_prepared(connection, TrainedModel, active)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def insert_moves(moves):
    """Insert the unsaved Move rows in one statement (their ids are not read back)."""
    if not moves:
        return
    connection = _connection(Move)
    fields = [field for field in Move._meta.concrete_fields if not field.primary_key]

    def build(quote):
        columns = ", ".join(quote(field.column) for field in fields)
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        return f"INSERT INTO {quote(Move._meta.db_table)} ({columns}) VALUES " + ", ".join([row] * len(moves))

    sql = _statement(connection, "insert-moves", len(moves), build)
    # pre_save gives each field's value as saving it would (`created`'s auto_now_add included).
    params = [field.get_db_prep_save(field.pre_save(move, True), connection) for move in moves for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
