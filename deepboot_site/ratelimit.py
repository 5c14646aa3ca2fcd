"""Per-client rate limits for the public APIs, counted in the cache (Redis when REDIS_URL is set,
so every worker shares the count).

DEEPBOOT_API_RATE is "N/s", "N/m" or "N/h" (default 30/m) per client address and API. Over the
limit: 429 with Retry-After and a JSON error. If the cache is unreachable the request goes
through (and a warning is logged): a broken counter must not take the demos down.
"""

import functools
import logging
import time

from django.conf import settings
from django.core.cache import cache

from .uploads import json_error

log = logging.getLogger(__name__)
PERIODS = {"s": 1, "m": 60, "h": 3600}


def _cache_errors():
    """What an unreachable cache raises: the built-in socket errors, and redis-py's own
    ConnectionError/TimeoutError (which are not subclasses of the built-in ones)."""
    errors = (ConnectionError, OSError, TimeoutError)
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # redis is pinned; this only guards odd installs
        return errors
    return errors + (RedisConnectionError, RedisTimeoutError)


CACHE_ERRORS = _cache_errors()


def parse_rate(rate):
    """'30/m' -> (30, 60). Raises ValueError on anything else."""
    count, _, unit = rate.strip().partition("/")
    if unit not in PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"A rate looks like 30/m (or N/s, N/h), not {rate!r}")
    return int(count), PERIODS[unit]


def client_address(request):
    """The client's address; behind a trusted proxy, the first address it forwarded."""
    if settings.DEEPBOOT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


def hit(scope, client, rate):
    """Count one request; (allowed, seconds until the window resets)."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"ratelimit:{scope}:{client}:{window}"
    retry_after = max(1, int((window + 1) * period - now + 0.999))
    try:
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.set(key, 1, timeout=period + 1)
            count = 1
    except CACHE_ERRORS as exc:
        log.warning("Rate limit not counted, cache unavailable: %s", exc)
        return True, 0
    return count <= limit, retry_after


def rate_limited(scope, methods=None):
    """Decorate a view: at most DEEPBOOT_API_RATE requests per client per period to this scope.

    `methods` (e.g. ["POST"]) counts only those, so a page's GETs stay free while its form posts,
    which run the same models as the API, are limited too. Over the limit: 429 with Retry-After,
    as JSON on /api/ and as a page elsewhere."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods is not None and request.method not in methods:
                return view(request, *args, **kwargs)
            allowed, retry_after = hit(scope, client_address(request), settings.DEEPBOOT_API_RATE)
            if not allowed:
                message = (
                    f"Too many requests: the limit is {settings.DEEPBOOT_API_RATE} per client. "
                    f"Try again in {retry_after} s."
                )
                if request.path.startswith("/api/"):
                    response = json_error(message, 429)
                else:
                    from django.shortcuts import render

                    response = render(request, "429.html", {"message": message}, status=429)
                response["Retry-After"] = str(retry_after)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
