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


class EmptyRefusalMiddleware:
    """A refusal Django answered with an empty body (a 405 from `require_http_methods`, for
    one) gets words: {"error": …} on /api/, a page elsewhere, same status and headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or response.streaming or response.content:
            return response
        from django.utils.translation import gettext as _

        message = f"{response.status_code} {response.reason_phrase}."
        if response.status_code == 405 and response.has_header("Allow"):
            message = _("This address does not accept %(method)s requests; it accepts %(allowed)s.") % {
                "method": request.method, "allowed": response["Allow"]}
        if request.path.startswith("/api/"):
            from .errors import json_error_body

            response.content = json_error_body(message)
            response["Content-Type"] = "application/json"
        else:
            from django.template import loader

            response.content = loader.get_template("400.html").render({"message": message, "title": response.reason_phrase}, request)
            response["Content-Type"] = "text/html; charset=utf-8"
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

        from .backing import REDIS_UNREACHABLE

        unavailable = (OperationalError, InterfaceError, ConnectionError, TimeoutError, *REDIS_UNREACHABLE)
        if not isinstance(exception, unavailable):
            return None
        import logging

        from django.utils.translation import gettext as _

        logging.getLogger(__name__).error("Service unavailable on %s: %s", request.path, exception)
        message = _("A service this page needs is unavailable right now. Please try again in a moment.")
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            from .errors import json_error

            response = json_error(message, 503)
        else:
            from django.http import HttpResponse
            from django.template import loader

            response = HttpResponse(loader.get_template("503.html").render({"message": message}), status=503)
        response["Retry-After"] = "5"
        return response


class RequestBodyLimit:
    """ASGI middleware in front of Django: a request body larger than the upload limit allows
    (413), or a chunked one with no Content-Length (411), is refused from its headers, before
    Django reads and spools the body. The server drops what arrives of it after the answer
    (deepboot_site/server.py; a proxy in front should cap bodies too, see SECURITY.md), so the
    answer comes at once and the body is never parsed or kept."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                from asgiref.sync import sync_to_async

                from .ratelimit import count_refusal

                # A refused upload uses up the client's rate too (the cache call off the event
                # loop, and not queued behind the views' thread).
                await sync_to_async(count_refusal, thread_sensitive=False)(scope)
                await self.refuse(scope, send, *refusal)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope):
        """(status, message) from uploads.body_refusal for this request's headers, or None."""
        from .uploads import body_refusal

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        encoding = headers.get(b"transfer-encoding", b"").decode("latin1")
        return body_refusal(length.decode("latin1") if length is not None else None, encoding)

    @staticmethod
    async def refuse(scope, send, status, message):
        await refuse(scope, send, status, message, title="Upload refused")


async def refuse(scope, send, status, message, title, headers=()):
    """Answer an ASGI HTTP request from outside Django: {"error": message} on /api/, a small page
    elsewhere, with the site's no-sniff and a locked-down CSP."""
    import html

    from .errors import json_error_body

    if scope.get("path", "").startswith("/api/"):
        body, content_type = json_error_body(message), b"application/json"
    else:
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · DeepBoot'
            f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            '<p><a href="/">Home</a></p></body></html>'
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The requests that decode an image and run models: both APIs and both pages' form posts.
GATED_PATHS = frozenset({"/api/classify/", "/api/detect/", "/classify/", "/detect/"})


class InferenceGate:
    """ASGI middleware: at most DEEPBOOT_INFERENCE_CONCURRENCY image requests (GATED_PATHS, POST)
    in Django at once per worker, and at most DEEPBOOT_INFERENCE_QUEUE more waiting for a turn, in
    arrival order. One more, or one that has waited DEEPBOOT_INFERENCE_WAIT seconds, gets 503 with
    Retry-After (JSON on /api/, a page elsewhere) without reaching Django. Other requests pass
    straight through, so pages keep answering while uploads queue."""

    RETRY_AFTER = 5

    def __init__(self, app):
        self.app = app
        self.waiting = 0
        self.running = 0
        self._turns = None  # (event loop, limit, asyncio.Semaphore), made in the serving loop

    def _semaphore(self, limit):
        import asyncio

        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns[0] is not loop or self._turns[1] != limit:
            self._turns = (loop, limit, asyncio.Semaphore(limit))
        return self._turns[2]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in GATED_PATHS:
            await self.app(scope, receive, send)
            return
        import asyncio

        from django.conf import settings

        limit = settings.DEEPBOOT_INFERENCE_CONCURRENCY
        semaphore = self._semaphore(limit)
        # Counted here, not asked of the semaphore: its acquire runs as a task of its own, so a
        # burst read in one turn of the event loop would all pass a semaphore.locked() test.
        if self.running + self.waiting >= limit + settings.DEEPBOOT_INFERENCE_QUEUE:
            await self._busy(scope, send, f"{self.running} images are being read and {self.waiting} are waiting")
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), settings.DEEPBOOT_INFERENCE_WAIT)
        except TimeoutError:
            await self._busy(scope, send, f"this one waited {settings.DEEPBOOT_INFERENCE_WAIT:g} s for a turn")
            return
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
            semaphore.release()

    async def _busy(self, scope, send, detail):
        message = (
            f"The server is busy reading other images ({detail}). "
            f"Please try again in {self.RETRY_AFTER} s."
        )
        await refuse(scope, send, 503, message, title="Busy", headers=[(b"retry-after", str(self.RETRY_AFTER).encode())])
