"""Loaded with `-p tests.environment` (see pytest.ini), before Django's settings are read.

Every test run gets a fresh var folder (database, models, media), the embedded defaults
(SQLite, in-memory channel layer) whatever the shell exports, and quiet TensorFlow on the CPU.
The PostgreSQL and Redis tests opt in through DEEPBOOT_TEST_DATABASE_URL / DEEPBOOT_TEST_REDIS_URL.
"""

import os
import tempfile

os.environ["DEEPBOOT_VAR"] = os.environ.get("DEEPBOOT_TEST_VAR") or tempfile.mkdtemp(prefix="deepboot-test-")
for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_HTTPS", "DJANGO_ALLOWED_HOSTS", "DEEPBOOT_API_RATE"):
    os.environ.pop(name, None)
# The API tests send many requests from 127.0.0.1; the rate-limit tests set their own rate.
os.environ["DEEPBOOT_API_RATE"] = "100000/m"
# So do the game tests (hundreds of games at once in the load test); the cap tests set their own.
os.environ["DEEPBOOT_GAMES_PER_MINUTE"] = "100000"
os.environ["DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS"] = "100000"
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Under pytest-xdist (`make test` runs one test process a core), TensorFlow in each test process,
# and in the servers and commands it starts, runs its ops on one thread rather than one a core.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
# Playwright's sync API runs an event loop in the test thread; Django must still allow the ORM there.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
