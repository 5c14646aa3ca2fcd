"""Settings come from the environment in one place, with safe defaults for `make run`."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'key': settings.SECRET_KEY, 'debug': settings.DEBUG,"
    " 'engine': settings.DATABASES['default']['ENGINE'], 'db': str(settings.DATABASES['default']['NAME']),"
    " 'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'cache': settings.CACHES['default']['BACKEND'],"
    " 'hsts': settings.SECURE_HSTS_SECONDS, 'redirect': settings.SECURE_SSL_REDIRECT,"
    " 'secure_cookies': settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE,"
    " 'proxy': settings.SECURE_PROXY_SSL_HEADER, 'hosts': settings.ALLOWED_HOSTS}))"
)


def read_settings(var_dir, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    environment.update(DJANGO_SETTINGS_MODULE="deepboot_site.settings", DEEPBOOT_VAR=str(var_dir), **env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_are_sqlite_in_var_in_memory_layer_and_debug_off(tmp_path):
    values = read_settings(tmp_path)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db"] == str(tmp_path / "db.sqlite3")
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["debug"] is False
    assert values["hsts"] == 0 and values["redirect"] is False


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = read_settings(tmp_path)["key"]
    second = read_settings(tmp_path)["key"]
    assert first == second and len(first) >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0


def test_secret_key_from_environment_wins(tmp_path):
    assert read_settings(tmp_path, DJANGO_SECRET_KEY="from-env")["key"] == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_selects_postgres(tmp_path):
    values = read_settings(tmp_path, DATABASE_URL="postgres://someone@db.example:5432/deepboot")
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "deepboot"


def test_redis_url_switches_channel_layer_and_cache(tmp_path):
    values = read_settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_https_turns_on_hsts_redirect_secure_cookies_and_trusts_proxy_header(tmp_path):
    values = read_settings(tmp_path, DJANGO_HTTPS="1", DJANGO_ALLOWED_HOSTS="deepboot.example, www.deepboot.example")
    assert values["hsts"] >= 31_536_000
    assert values["redirect"] is True and values["secure_cookies"] is True
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["hosts"] == ["deepboot.example", "www.deepboot.example"]


def test_check_deploy_is_silent_behind_https(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment.update(
        DEEPBOOT_VAR=str(tmp_path),
        DJANGO_HTTPS="1",
        DJANGO_SECRET_KEY="q" * 10 + "a-long-random-secret-key-for-the-deploy-check-1234567890",
        DJANGO_ALLOWED_HOSTS="deepboot.example",
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in out.stderr
