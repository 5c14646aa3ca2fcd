"""Per-client rate limits for the public APIs, counted in the cache (Redis when REDIS_URL is set,
so every worker shares the count).

DEEPBOOT_API_RATE is "N/s", "N/m" or "N/h" (default 30/m) per client address and API. Over the
limit: 429 with Retry-After and a JSON error. If the cache is unreachable the request goes
through (and a warning is logged): a broken counter must not take the demos down.

The window slides: a request is allowed when fewer than N requests of that client and scope came
in the `period` seconds before it, whatever the clock says (a fixed window let 2N through around
its edge). Every request counts, refused ones too (429, and 413/411 from
`deepboot_site.middleware.RequestBodyLimit`). The cache holds, per client and scope, a counter
numbering the requests (`cache.incr` is atomic, in Redis too) and each request's time under its
number, for one period: request number n is allowed when request n - N is older than the period.
"""

import functools
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .backing import UNREACHABLE
from .errors import json_error

log = logging.getLogger(__name__)
PERIODS = {"s": 1, "m": 60, "h": 3600}


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


# The limited views' paths and scopes, for refusals made before Django sees the request (413/411
# in deepboot_site.middleware): the APIs count every request, the pages their form posts only.
LIMITED_PATHS = {
    "/api/classify/": ("classify", None),
    "/api/detect/": ("detect", None),
    "/classify/": ("classify-page", {"POST"}),
    "/detect/": ("detect-page", {"POST"}),
}


def count_refusal(scope):
    """Count a request refused from its headers (an ASGI scope) against its view's rate."""
    limited = LIMITED_PATHS.get(scope.get("path"))
    if limited is None or (limited[1] is not None and scope.get("method") not in limited[1]):
        return
    hit(limited[0], scope_client_address(scope), settings.DEEPBOOT_API_RATE)


def scope_client_address(scope):
    """client_address for an ASGI scope (HTTP or WebSocket), before Django builds a request."""
    if settings.DEEPBOOT_TRUST_X_FORWARDED_FOR:
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-for" and value.strip():
                return value.decode("latin1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


def hit(scope, client, rate):
    """Count one request; (allowed, seconds until one more would be allowed, 0 when allowed)."""
    limit, period = parse_rate(rate)
    now = time.time()
    base = f"ratelimit:{scope}:{client}"
    counter = f"{base}:n"
    try:
        cache.add(counter, 0, timeout=period + 1)
        try:
            number = cache.incr(counter)
        except ValueError:  # the counter expired between add and incr
            cache.set(counter, 1, timeout=period + 1)
            number = 1
        cache.touch(counter, period + 1)  # the counter outlives every time it numbers
        cache.set(f"{base}:{number}", now, timeout=period + 1)
        if number <= limit:
            return True, 0
        earlier = cache.get_many([f"{base}:{number - limit}", f"{base}:{number - limit + 1}"])
    except UNREACHABLE as exc:  # an unreachable cache
        log.warning("Rate limit not counted, cache unavailable: %s", exc)
        return True, 0
    oldest = earlier.get(f"{base}:{number - limit}")
    if oldest is None or oldest <= now - period:
        return True, 0
    # The next request is allowed once the oldest of the last `limit` (this one included) is a
    # period old.
    next_oldest = earlier.get(f"{base}:{number - limit + 1}", now)
    return False, max(1, math.ceil(next_oldest + period - now))


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
                message = _("Too many requests: the limit is %(rate)s per client. Try again in %(seconds)s s.") % {
                    "rate": settings.DEEPBOOT_API_RATE, "seconds": retry_after,
                }
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
