"""The backing services for real: the site on PostgreSQL through DATABASE_URL (migrations, the
registry's rows) and the channel layer on Redis through REDIS_URL. Skipped where one is not
running (a failure under CI)."""

import asyncio
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_postgres_database_url_migrates_and_stores_models(postgres_url, tmp_path):
    env = dict(os.environ, DATABASE_URL=postgres_url, DEEPBOOT_VAR=str(tmp_path))
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    script = (
        "import django; django.setup();"
        "from django.db import connection; from registry import registry;"
        "from django.conf import settings;"
        "p = settings.MODELS_DIR / 'pg.keras'; p.write_text('x');"
        "r = registry.register('tictactoe', 'pg-test', p, activate=True);"
        "print(connection.vendor, registry.active_record('tictactoe', 'pg-test').pk == r.pk);"
        "r.delete()"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
        env=dict(env, DJANGO_SETTINGS_MODULE="deepboot_site.settings"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["postgresql", "True"]


async def test_redis_channel_layer_carries_messages_between_layers(redis_url):
    from channels_redis.core import RedisChannelLayer

    async def round_trip():
        sender, receiver = RedisChannelLayer(hosts=[redis_url]), RedisChannelLayer(hosts=[redis_url])
        channel = await receiver.new_channel()
        await sender.send(channel, {"type": "hello", "text": "across processes"})
        message = await asyncio.wait_for(receiver.receive(channel), timeout=5)
        await sender.flush()
        return message

    assert (await round_trip())["text"] == "across processes"
