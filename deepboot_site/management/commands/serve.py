"""serve: one worker of the site (HTTP and WebSockets) on --host:--port, until SIGTERM or Ctrl-C.

`make run` starts one; the README's scale-out section starts several behind a reverse proxy. The
server and what the site asks of it are in deepboot_site/server.py.
"""

from django.core.management.base import BaseCommand

from deepboot_site import server


class Command(BaseCommand):
    help = "Serve the site (pages, APIs and the game's WebSockets) with Uvicorn until SIGTERM or Ctrl-C."
    requires_system_checks = []  # the worker serves what `migrate` and `collectstatic` prepared

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument(
            "--proxy-headers", action="store_true",
            help="Behind a reverse proxy: take the client's address and scheme from X-Forwarded-For and "
            "X-Forwarded-Proto (ignored without this flag).",
        )

    def handle(self, *args, host, port, proxy_headers, **options):
        server.serve(host, port, proxy_headers)
