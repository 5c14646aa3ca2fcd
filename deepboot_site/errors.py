"""The APIs' one error shape, {"error": message}: as a Django response (`json_error`) and as the
bytes of a body answered from outside Django (`json_error_body`, for the ASGI middleware)."""

import json

from django.http import JsonResponse


def json_error_body(message):
    """{"error": message} as the bytes of a JSON body."""
    return json.dumps({"error": message}).encode()


def json_error(message, status):
    """{"error": message} with a 4xx (or 503) status."""
    return JsonResponse({"error": message}, status=status)
