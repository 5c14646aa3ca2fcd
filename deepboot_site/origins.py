"""The WebSocket origin check: a handshake is accepted only from a page of this site, matching
scheme, host and port exactly.

- scheme: https when the site is served over TLS (DJANGO_HTTPS=1 behind a proxy, or a wss://
  socket), http otherwise;
- host: one of ALLOWED_HOSTS (Django's own matching, so ".example.com" covers subdomains);
- port: the port the socket itself was opened on (from its Host header; 80/443 when absent);
- or exactly one of CSRF_TRUSTED_ORIGINS.
A missing Origin, `null`, a look-alike host, another port or the other scheme is refused (403 at
the handshake), as channels' AllowedHostsOriginValidator did for hosts alone.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(value, scheme):
    """'8000' -> 8000; '' -> the scheme's default; None when not a port."""
    if not value:
        return DEFAULT_PORTS[scheme]
    return int(value) if value.isdigit() and int(value) < 65536 else None


def origin_allowed(origin, host_header, secure, allowed_hosts, trusted_origins=()):
    """Whether a WebSocket handshake with this Origin, sent to a socket whose Host header is
    `host_header`, comes from a page of the site. `secure`: the site is served over TLS."""
    if not origin:
        return False
    if origin in trusted_origins:
        return True
    scheme = "https" if secure else "http"
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme != scheme or not parts.hostname or parts.path or parts.query or parts.fragment:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if (origin_port or DEFAULT_PORTS[scheme]) != _port(split_domain_port(host_header)[1], scheme):
        return False
    origin_host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return validate_host(origin_host, allowed_hosts)


class ExactOriginValidator:
    """ASGI middleware for WebSocket routes: refuse handshakes whose Origin is not the site's own."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin1")
            host = headers.get(b"host", b"").decode("latin1")
            secure = settings.HTTPS or scope.get("scheme") == "wss"
            allowed_hosts = settings.ALLOWED_HOSTS
            if settings.DEBUG and not allowed_hosts:
                allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # what Django allows itself
            if not origin_allowed(origin, host, secure, allowed_hosts, settings.CSRF_TRUSTED_ORIGINS):
                return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
