"""The APIs' one error shape, {"error": message}: the bytes of its body (`json_error_body`, which
the ASGI middleware answers with from outside Django) and a Django response (`json_error`)."""

import json

from django.http import HttpResponse


def json_error_body(message):
    """{"error": message} as the bytes of a JSON body."""
    return json.dumps({"error": message}).encode()


def json_error(message, status):
    """{"error": message} with a 4xx (or 503) status."""
    return HttpResponse(json_error_body(message), status=status, content_type="application/json")
