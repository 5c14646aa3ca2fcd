"""What the site asks of Daphne (Twisted) beyond its command-line options, applied when Daphne loads
`deepboot_site.asgi`, however it was started (`make run`, the README's workers, the tests):

- Twisted does not parse request bodies as forms. Daphne hands the raw body to Django, which
  parses it itself with its limits; Twisted's own parse of every multipart body was a second,
  unlimited copy, and a malformed one got a bare 400 without headers instead of the site's answer.
- A request must arrive whole (request line, headers and body) within DEEPBOOT_REQUEST_TIMEOUT
  seconds: a body trickled in a byte at a time gets 408 and the connection is closed, instead of
  holding it for as long as the client likes (Twisted's own timeout only counts idle time).
- A body the site will refuse from its headers (a `Content-Length` over the upload limit:
  413; chunked, with no `Content-Length`: 411, see `deepboot_site.middleware.RequestBodyLimit`)
  is refused at its headers: the request goes to the site at once, with an empty body, and the
  site's answer goes out before the body (Twisted would otherwise wait for the whole body and
  keep it, in memory up to 100 KB and in a temporary file past that). No `100 Continue` is sent,
  so a client that asked first sends nothing. What a client sends anyway is dropped as it
  arrives, and the connection is closed once it has all arrived (closing earlier would reset it
  before a client that writes first and reads after could read the answer) or at the deadline.
- No `Server:` banner on HTTP responses or WebSocket handshakes.
- A received body goes to the application in BODY_PIECE pieces.
"""

import io
import json

# The pieces Daphne hands a received body to the application in (its default: 8 KB). A 10 MB upload
# went to Django as 1,280 messages, every one a turn of the event loop that pages and moves wait
# behind; in 1 MB pieces it is 10 (bench/head_of_line.py, BENCHMARKS.md).
BODY_PIECE = 1024 * 1024

_SLOW_PAGE = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Request timeout \xc2\xb7 DeepBoot</title>'
    b"</head><body><h1>Request timeout</h1><p>%s</p><p><a href=\"/\">Home</a></p></body></html>"
)


def install():
    """Make Daphne build its HTTP requests from `SiteRequest` (idempotent). No-op without Daphne."""
    try:
        from daphne import http_protocol
    except ImportError:  # another ASGI server: it brings its own limits
        return
    if getattr(http_protocol.WebRequest, "deepboot", False):
        return
    http_protocol.WebRequest = _site_request(http_protocol.WebRequest)


def when_serving(callback):
    """Call `callback()` once Daphne's reactor runs, i.e. in a worker that serves (Daphne's command
    or `runserver`); a process that only imports the application (a management command, the tests)
    never runs the reactor, so never calls it. No-op without Daphne."""
    reactor = _daphne_reactor()
    if reactor is not None:
        reactor.callWhenRunning(callback)


def when_stopping(callback):
    """Call `callback()` when a serving worker's reactor begins to shut down (SIGTERM, Ctrl-C),
    before it stops. No-op without Daphne, like `when_serving`."""
    reactor = _daphne_reactor()
    if reactor is not None:
        reactor.addSystemEventTrigger("before", "shutdown", callback)


def _daphne_reactor():
    """The Twisted reactor Daphne runs (importing daphne.server installs its asyncio reactor), or
    None without Daphne."""
    try:
        import daphne.server  # noqa: F401
    except ImportError:
        return None
    from twisted.internet import reactor

    return reactor


def _site_request(web_request):
    from django.conf import settings
    from twisted.internet import reactor

    from .uploads import body_refusal

    class SiteRequest(web_request):
        deepboot = True

        def __init__(self, *args, **kwargs):
            kwargs["parsePOSTFormSubmission"] = False
            self._drop_body = self._body_over = self._finish_waiting = False
            super().__init__(*args, **kwargs)
            self.server.server_name = ""
            self.server.request_buffer_size = BODY_PIECE
            self.server.ws_factory.server = ""
            self._deadline = reactor.callLater(settings.DEEPBOOT_REQUEST_TIMEOUT, self._too_slow)

        def _cancel_deadline(self):
            if self._deadline is not None and self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

        def gotLength(self, length):
            # None: chunked (Twisted passes 0 for a request with no body). The site's one rule on
            # body sizes decides which bodies it will refuse from the headers.
            chunked = length is None
            self._drop_body = body_refusal(None if chunked else str(length), "chunked" if chunked else "") is not None
            if not self._drop_body:
                super().gotLength(length)
                return
            self.content = io.BytesIO()
            self.requestHeaders.removeHeader(b"expect")  # no "100 Continue": the answer is a refusal
            channel = self.channel
            channel.persistent = False
            # The site answers from the headers now; the body's end, later, only closes the connection.
            super().requestReceived(channel._command, channel._path, channel._version)

        def handleContentChunk(self, data):
            if not self._drop_body:
                super().handleContentChunk(data)

        def requestReceived(self, command, path, version):
            self._cancel_deadline()
            if not self._drop_body:
                super().requestReceived(command, path, version)
                return
            self._body_over = True  # the refused body has all arrived
            if self._finish_waiting:
                self.finish()

        def finish(self):
            if self._drop_body and not self._body_over:
                # The answer is out; the connection stays open to drain the refused body, and
                # requestReceived finishes once it has all arrived.
                self._finish_waiting = True
                return
            super().finish()

        def connectionLost(self, reason):
            self._cancel_deadline()
            super().connectionLost(reason)

        def _too_slow(self):
            self._deadline = None
            if self._drop_body:  # already answered from the headers: stop draining the body
                if self.channel is not None and self.channel.transport is not None:
                    self.channel.transport.loseConnection()
                return
            seconds = settings.DEEPBOOT_REQUEST_TIMEOUT
            message = f"The request did not arrive within {seconds:g} s."
            path = getattr(self.channel, "_path", b"") or b""
            if path.startswith(b"/api/"):
                body, content_type = json.dumps({"error": message}).encode(), b"application/json"
            else:
                body, content_type = _SLOW_PAGE % message.encode(), b"text/html; charset=utf-8"
            transport = self.channel.transport
            if transport is None:
                return
            transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nContent-Type: " + content_type
                + b"\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" + body
            )
            transport.loseConnection()

    SiteRequest.__name__ = SiteRequest.__qualname__ = "SiteRequest"
    return SiteRequest
