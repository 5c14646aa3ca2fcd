"""ASGI entry point: a worker (`manage.py serve`, Uvicorn) serves HTTP (Django) and WebSocket
(Channels) from here."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepboot_site.settings")
# Build the Django app first: it sets up the app registry that the routes below import.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from deepboot_site import server, uploads  # noqa: E402
from deepboot_site.middleware import InferenceGate, RequestBodyLimit  # noqa: E402
from deepboot_site.origins import ExactOriginValidator  # noqa: E402
from deepboot_site.routing import websocket_urlpatterns  # noqa: E402
from registry import warmup  # noqa: E402

# Each worker loads and warms the active models in the background as it starts serving
# (DEEPBOOT_WARM_MODELS), not on the first request; a worker that stops ends its warm-up.
server.when_serving(warmup.start)
server.when_stopping(warmup.stop)
# Its processes that decode uploads start then too (deepboot/decoding.py; warm-up off: on first use).
server.when_serving(lambda: uploads.decoder().start() if settings.DEEPBOOT_WARM_MODELS else None)
server.when_stopping(lambda: uploads.decoder().stop())

application = ProtocolTypeRouter(
    {
        # Oversized or chunked bodies are refused from their headers, before Django reads them;
        # image requests then wait for one of a few turns (a bounded queue, 503 past it).
        "http": RequestBodyLimit(InferenceGate(django_asgi_app)),
        # Sockets only from the site's own pages: scheme, allowed host and port must match. The
        # session (games belong to it) for every socket; the user only where a route asks for it.
        "websocket": ExactOriginValidator(
            SessionMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
        # A serving worker's start and stop: the callbacks above.
        "lifespan": server.lifespan,
    }
)
