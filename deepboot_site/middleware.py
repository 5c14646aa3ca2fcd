"""Security headers Django's own middleware does not set: a Content-Security-Policy that allows
no inline script, and a Permissions-Policy. (HSTS, nosniff, Referrer-Policy and frame denial come
from SecurityMiddleware and XFrameOptionsMiddleware, configured in settings.)"""


def content_security_policy(request):
    """Scripts, styles and sockets from this origin only; images may also be data:/blob: URLs
    (previews of the visitor's own upload, heat maps sent inline)."""
    host = request.get_host()
    styles = "'self'"
    if request.path.startswith("/admin/"):
        # Django's admin sets a few style attributes; its scripts are still external files.
        styles = "'self' 'unsafe-inline'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {styles}",
            "img-src 'self' data: blob:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy(request))
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


class ServiceUnavailableMiddleware:
    """The database or the cache briefly unreachable: answer 503 with a clear message (JSON on the
    APIs, a page elsewhere) instead of a server error. Nothing is cached, so the next request after
    the service is back simply works."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        unavailable = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
        try:
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import TimeoutError as RedisTimeoutError

            unavailable += (RedisConnectionError, RedisTimeoutError)
        except ImportError:  # redis is a pinned dependency; this only guards odd installs
            pass
        if not isinstance(exception, unavailable):
            return None
        import logging

        logging.getLogger(__name__).error("Service unavailable on %s: %s", request.path, exception)
        message = "A service this page needs is unavailable right now. Please try again in a moment."
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            from .uploads import json_error

            response = json_error(message, 503)
        else:
            from django.http import HttpResponse
            from django.template import loader

            response = HttpResponse(loader.get_template("503.html").render({"message": message}), status=503)
        response["Retry-After"] = "5"
        return response
