"""DeepBoot settings: every knob is read from the environment here, and only here.

The defaults are what `make run` needs on a fresh machine: SQLite and the in-memory channel
layer under `var/`, DEBUG off, a secret key generated once and kept in `var/secret_key`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name, default=False):
    """True for 1/true/yes/on (any case); the default where the variable is unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def env_list(name, default):
    """A comma-separated variable as a list of non-empty, stripped items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


# Media, trained models, data sets, logs and the default database live under one folder.
VAR_DIR = Path(os.environ.get("DEEPBOOT_VAR") or BASE_DIR / "var").resolve()
MODELS_DIR = VAR_DIR / "models"
DATA_DIR = VAR_DIR / "data"
MEDIA_ROOT = VAR_DIR / "media"
LOGS_DIR = VAR_DIR / "logs"
# `bootstrap --weights imagenet` fetches Keras' ImageNet weights from this URL (Keras' own storage;
# a mirror with the same layout, e.g. on a machine without internet) into Keras' cache, KERAS_HOME
# (Keras' own variable, default ~/.keras), where Keras and the next run find them.
DEEPBOOT_KERAS_WEIGHTS_URL = (
    os.environ.get("DEEPBOOT_KERAS_WEIGHTS_URL") or "https://storage.googleapis.com/tensorflow/keras-applications/"
)
KERAS_HOME = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
for _folder in (VAR_DIR, MODELS_DIR, DATA_DIR, MEDIA_ROOT, LOGS_DIR):
    _folder.mkdir(parents=True, exist_ok=True)


def _secret_key():
    """DJANGO_SECRET_KEY, or one generated on first start and kept in var/secret_key."""
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_flag("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "deepboot_site",
    "registry",
    "classifier",
    "detector",
    "tictactoe",
    "experiments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the site's CSP and policies too.
    "deepboot_site.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the set_language cookie, else Accept-Language, else English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "deepboot_site.middleware.EmptyRefusalMiddleware",
    "deepboot_site.middleware.ServiceUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "deepboot_site.urls"
ASGI_APPLICATION = "deepboot_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# DATABASE_URL (postgres://… uses psycopg 3); SQLite under var/ otherwise. A persistent connection
# is checked before reuse (after an outage, not one failed query per thread that kept one).
conn_max_age = int(os.environ.get("DJANGO_CONN_MAX_AGE", "0"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=conn_max_age,
        conn_health_checks=conn_max_age > 0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not memory) for the test database, so a real server process can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
    # WAL and a busy timeout let the web process and a training command write side by side.
    # synchronous=NORMAL (SQLite's advice for WAL): a commit no longer waits for the disk (an fsync
    # took half of a tic-tac-toe move's time); a crash of the process loses nothing and the file
    # stays consistent, only a power cut or an OS crash may lose the last commits.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_flag("DEEPBOOT_DB_POOL", True):
    # A psycopg connection pool per process: under ASGI, requests run in changing threads,
    # so persistent connections would pile up, and a new connection per query costs a backend
    # process each time. DEEPBOOT_DB_POOL_SIZE bounds each worker's connections.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DEEPBOOT_DB_POOL_SIZE", "10")),
        # How long a request waits for a connection. A worker runs its database work in one thread,
        # so waits come from an unreachable database, not from a busy pool: keep them short, or
        # during an outage every request (pages that need no database too) queues behind them.
        "timeout": float(os.environ.get("DEEPBOOT_DB_POOL_TIMEOUT", "3")),
        # After a failed connection the pool retries with a doubling delay until this many seconds
        # have passed, then gives up until the next request asks; left at psycopg's 300 s, a site
        # would take about as long as the outage itself to notice the database was back.
        "reconnect_timeout": 5,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REDIS_URL switches the channel layer (and the cache) to Redis, shared by every worker.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which cuts the layer's
            # blocking 5 s BZPOPMIN and drops every idle WebSocket (django/channels_redis#422):
            # read for longer than the pop waits, yet still notice a Redis that is gone.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 5}]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A stalled Redis costs a request two seconds at most, never a hung worker.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Room for the rate limits' counts (a few keys per request and client for one period): past
    # MAX_ENTRIES the cache drops a third of its keys, and with them counts.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": 200_000}}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The site speaks English, Korean and Japanese (the book's editions); the catalogues are in locale/,
# kept compiled in the repo (.mo) so that running the site needs no gettext.
LANGUAGES = [("en", "English"), ("ko", "한국어"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise's manifest storage, falling back to plain names before collectstatic has run.
    "staticfiles": {"BACKEND": "deepboot_site.staticfiles.StaticFilesStorage"},
}
# Serve from the source folders too, so pages work before collectstatic (see staticfiles.py).
WHITENOISE_USE_FINDERS = True

# Uploads: the limits the image APIs enforce (see deepboot_site/uploads.py).
DEEPBOOT_MAX_UPLOAD_BYTES = int(os.environ.get("DEEPBOOT_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
DEEPBOOT_MAX_IMAGE_PIXELS = int(os.environ.get("DEEPBOOT_MAX_IMAGE_PIXELS", 40_000_000))
# The longest side an image may have (checked from the header, like the pixel count): a thin
# strip of few pixels can still cost a full decode per row.
DEEPBOOT_MAX_IMAGE_SIDE = int(os.environ.get("DEEPBOOT_MAX_IMAGE_SIDE", 12_000))
# Image requests (both APIs and both pages' form posts) decoded and run through the models at once
# per worker, and how many more may wait for a turn; past that: 503 with Retry-After.
DEEPBOOT_INFERENCE_CONCURRENCY = int(os.environ.get("DEEPBOOT_INFERENCE_CONCURRENCY") or min(4, os.cpu_count() or 1))
DEEPBOOT_INFERENCE_QUEUE = int(os.environ.get("DEEPBOOT_INFERENCE_QUEUE") or 4 * DEEPBOOT_INFERENCE_CONCURRENCY)
# Processes decoding a worker's uploads at the lowest CPU priority (deepboot/decoding.py); 0: none.
DEEPBOOT_DECODE_PROCESSES = int(os.environ.get("DEEPBOOT_DECODE_PROCESSES") or DEEPBOOT_INFERENCE_CONCURRENCY)
# Seconds a waiting image request may wait for its turn before it is answered 503.
DEEPBOOT_INFERENCE_WAIT = float(os.environ.get("DEEPBOOT_INFERENCE_WAIT") or 30)
# A server worker loads and warms every active model as it starts, in the background, so the first
# request is as fast as the tenth (registry/warmup.py); off: each model loads on its first request.
DEEPBOOT_WARM_MODELS = env_flag("DEEPBOOT_WARM_MODELS", default=True)
# Django refuses bodies over this before a view runs; leave room for the multipart envelope.
DATA_UPLOAD_MAX_MEMORY_SIZE = DEEPBOOT_MAX_UPLOAD_BYTES + 1024 * 1024
# FILE_UPLOAD_MAX_MEMORY_SIZE: Django's 2.5 MB. A larger upload waits in a file for the decoder.

# Seconds a request may take to arrive whole (request line, headers, body); then 408
# (deepboot_site/server.py).
DEEPBOOT_REQUEST_TIMEOUT = float(os.environ.get("DEEPBOOT_REQUEST_TIMEOUT") or 30)

# Per-client limit on each image API ("N/s", "N/m" or "N/h"); see deepboot_site/ratelimit.py.
DEEPBOOT_API_RATE = os.environ.get("DEEPBOOT_API_RATE") or "30/m"
# Tic-tac-toe games a browser session, and a client address, may start per minute (more: an
# error frame "too_many_games"); games last played longer ago than DEEPBOOT_GAME_RETENTION_DAYS
# are removed by `manage.py prune_games` (run by `make run` at start).
DEEPBOOT_GAMES_PER_MINUTE = int(os.environ.get("DEEPBOOT_GAMES_PER_MINUTE") or 20)
DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS = int(os.environ.get("DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS") or 60)
# Threads per worker that run the games' database work (tictactoe/consumers.py). SQLite takes one
# writer at a time (a second thread would wait in its busy handler, which sleeps in steps of
# milliseconds), so one; PostgreSQL overlaps the moves' round trips, within the connection pool.
DEEPBOOT_GAME_DB_THREADS = int(
    os.environ.get("DEEPBOOT_GAME_DB_THREADS") or (1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4)
)
DEEPBOOT_GAME_RETENTION_DAYS = float(os.environ.get("DEEPBOOT_GAME_RETENTION_DAYS") or 30)
# Count clients by the first X-Forwarded-For address (only behind a proxy that sets it).
DEEPBOOT_TRUST_X_FORWARDED_FOR = env_flag("DEEPBOOT_TRUST_X_FORWARDED_FOR")

# DJANGO_HTTPS=1 behind a TLS-terminating proxy that sets X-Forwarded-Proto.
HTTPS = env_flag("DJANGO_HTTPS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGIN_URL = "admin:login"

# Login throttling (django-axes): after DEEPBOOT_LOGIN_FAILURES failed logins from one client
# address, its logins are refused (429, deepboot_site.views.locked_out) for DEEPBOOT_LOGIN_LOCKOUT_MINUTES,
# even with the right password. Attempts are stored (admin: Axes) and logged (logger "axes").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("DEEPBOOT_LOGIN_FAILURES") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("DEEPBOOT_LOGIN_LOCKOUT_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "deepboot_site.ratelimit.client_address"  # honours DEEPBOOT_TRUST_X_FORWARDED_FOR
AXES_LOCKOUT_CALLABLE = "deepboot_site.views.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_SENSITIVE_PARAMETERS = ["username"]  # logged masked; the client address is logged as it is

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR", "propagate": True}},
}
