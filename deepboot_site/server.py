"""How a worker serves the site: Uvicorn, HTTP through httptools and WebSockets through websockets,
started by `python manage.py serve` (`make run`, the README's workers, the tests and benches).
Uvicorn hands a request to the application as soon as its headers are in and streams its body
after, without a temporary file of its own (Daphne, before it, kept every body whole in a file
first, and pages waited behind that work: BENCHMARKS.md, "Head-of-line blocking").

What the site asks of the server beyond Uvicorn's own settings:

- A request must arrive whole (request line, headers and body) within DEEPBOOT_REQUEST_TIMEOUT
  seconds: a body trickled in a byte at a time gets 408 and the connection is closed, instead of
  holding it for as long as the client likes (Uvicorn's own timeout only counts the idle time
  between requests). `SiteHttpProtocol`.
- A body the site refuses from its headers (RequestBodyLimit: over the upload limit, or chunked)
  is answered before any of it is read: no `100 Continue` is sent (Uvicorn sends one only when the
  application reads the body), what arrives after the answer is dropped as it arrives, and the
  connection closes once the body has all arrived (closing earlier would reset it before a client
  that writes first and reads after could read the answer) or at the deadline.
- No `Server:` banner on HTTP responses or WebSocket handshakes.
- Start and stop through the ASGI lifespan: `when_serving` callbacks run once the worker serves,
  `when_stopping` ones once its connections are done (at most GRACE seconds after SIGTERM or
  Ctrl-C), so a process that only imports the application (a command, the tests) runs neither.
- A worker asked to stop is gone within STOP_DEADLINE seconds, printing every thread's stack if it
  had to be ended (`deepboot.stopping`); `kill -USR1` prints them at any time.
"""

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Seconds a stopping worker gives its open requests and sockets before cancelling them.
GRACE = 10
# Seconds after SIGTERM or Ctrl-C by which a worker has ended, whatever it was waiting on.
STOP_DEADLINE = 60
# The largest WebSocket message a worker reads (the game's consumer refuses anything over 4 KB
# with an error; past this the server itself closes with 1009).
WS_MAX_MESSAGE = 1024 * 1024

_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · DeepBoot</title>'
    '</head><body><h1>{title}</h1><p>{message}</p><p><a href="/">Home</a></p></body></html>'
)

_starting = []
_stopping = []


def when_serving(callback):
    """Call `callback()` once a worker serves (the lifespan's start-up)."""
    _starting.append(callback)


def when_stopping(callback):
    """Call `callback()` when a serving worker stops, after its connections are done."""
    _stopping.append(callback)


async def lifespan(scope, receive, send):
    """The ASGI lifespan protocol, as `deepboot_site.asgi` routes it."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            for callback in _starting:
                callback()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            for callback in _stopping:
                callback()
            await send({"type": "lifespan.shutdown.complete"})
            return


def serve(host, port, proxy_headers=False):
    """Serve `deepboot_site.asgi:application` on host:port until SIGTERM or Ctrl-C. With
    `proxy_headers`, the client address and scheme come from X-Forwarded-For and -Proto (for a
    worker behind a reverse proxy; without it they are ignored)."""
    import uvicorn

    from deepboot import stopping

    stopping.stacks_on_sigusr1()

    class SiteServer(uvicorn.Server):
        def handle_exit(self, sig, frame):
            super().handle_exit(sig, frame)
            # Stopping on a signal is the normal end: status 0, instead of Uvicorn raising the
            # signal again once it has shut down (a KeyboardInterrupt's traceback on Ctrl-C).
            self._captured_signals.clear()
            stopping.end_within(STOP_DEADLINE)

    config = uvicorn.Config(
        "deepboot_site.asgi:application", host=host, port=port,
        http=SiteHttpProtocol, ws="websockets-sansio", ws_max_size=WS_MAX_MESSAGE, lifespan="on",
        server_header=False, proxy_headers=proxy_headers, forwarded_allow_ips="*",
        timeout_graceful_shutdown=GRACE, log_config=None,
    )
    SiteServer(config).run()


class SiteHttpProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a deadline for each request to arrive whole, a refused
    body drained before its connection closes, and the site's own answer to bytes that are not
    HTTP."""

    def connection_made(self, transport):
        self._deadline = self._request_cycle = None
        self._message_done = self._close_when_done = False
        super().connection_made(transport)
        self._arm_deadline()  # a connection that sends nothing at all counts too

    def on_message_begin(self):
        super().on_message_begin()
        self._request_cycle = None
        self._message_done = self._close_when_done = False
        if self._deadline is None:  # a later request on a kept-alive connection: from its first byte
            self._arm_deadline()

    def on_headers_complete(self):
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is previous:  # a WebSocket handshake: no HTTP response cycle
            return
        self._request_cycle = self.cycle
        # A client that asked to close (`Connection: close`, HTTP/1.0) gets its connection closed by
        # Uvicorn as soon as the answer is out. An answer given from the headers (a refused body)
        # comes before the body has arrived, and closing then would reset the connection under a
        # client still sending it, before it reads the answer. So the close is this protocol's:
        # once both the answer and the request are complete.
        if not self.cycle.keep_alive:
            self.cycle.keep_alive = True
            self._close_when_done = True

    def on_message_complete(self):
        self._cancel_deadline()
        self._message_done = True
        cycle = self._request_cycle
        answered_first = cycle is not None and cycle is self.cycle and cycle.response_complete
        super().on_message_complete()
        if answered_first:  # refused from its headers, and the body has now all arrived
            self.transport.close()

    def on_response_complete(self):
        super().on_response_complete()
        if self._close_when_done and self._message_done:
            self.transport.close()

    def handle_websocket_upgrade(self):
        self._cancel_deadline()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc):
        self._cancel_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg):
        # httptools could not parse the request (a control character in a header, say): the site's
        # 400, JSON on /api/, instead of Uvicorn's plain text.
        self._answer_and_close(400, b"Bad Request", "The request is not valid HTTP and could not be read.")

    def _arm_deadline(self):
        from django.conf import settings

        self._deadline = self.loop.call_later(settings.DEEPBOOT_REQUEST_TIMEOUT, self._too_slow)

    def _cancel_deadline(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self):
        from django.conf import settings

        self._deadline = None
        cycle = self._request_cycle
        if cycle is not None and cycle.response_started:  # answered from the headers: stop draining
            self.transport.close()
            return
        seconds = settings.DEEPBOOT_REQUEST_TIMEOUT
        self._answer_and_close(408, b"Request Timeout", f"The request did not arrive within {seconds:g} s.")

    def _answer_and_close(self, status, reason, message):
        """Answer from below the application (JSON on /api/, a page elsewhere) and close."""
        if self.transport.is_closing():
            return
        if (getattr(self, "url", None) or b"").startswith(b"/api/"):
            body, content_type = json.dumps({"error": message}).encode(), b"application/json"
        else:
            title = reason.decode()
            body = _PAGE.format(title=title, message=message).encode()
            content_type = b"text/html; charset=utf-8"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\n" % (status, reason, content_type)
            + b"Content-Length: %d\r\n" % len(body)
            + b"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" + body
        )
        self.transport.close()
