"""The /detect/ page (works without JavaScript too), POST /api/detect/ and the sample images.
Thin: validate the upload through deepboot_site.uploads, call the service, render."""

import json
import math

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from deepboot_site.image_views import (
    api_view, image_from_form, image_page, preview_data_url, sample_response,
)
from deepboot_site.ratelimit import rate_limited
from deepboot_site.uploads import UploadError
from registry import registry
from registry.records import training_slots

from . import service

PREVIEW_SIDE = 800


def parse_threshold(value, default=service.DEFAULT_THRESHOLD):
    """The `threshold` field: absent -> default; a number in [0, 1] -> it; else UploadError(400)."""
    if value is None:
        return default
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 1.0:
        raise UploadError(
            _("'threshold' must be a number between 0 and 1, not %(value)r.") % {"value": str(value)[:40]}, status=400
        )
    return threshold


def _ink_for(colour):
    """Black or white, whichever reads better on `colour` (#rrggbb)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _drawn(result):
    """What the template draws: each detection with its colour, box, and label tag (same
    geometry as static/detector/detect.js)."""
    font = max(10.0, max(result.width, result.height) / 36)
    rows = []
    for detection in result.detections:
        x0, y0, x1, y1 = detection.box
        colour = result.colour(detection.label)
        text = f"{detection.label} {detection.score:.2f}"
        tag_h = font * 1.25
        tag_y = y0 - tag_h if y0 >= tag_h else y0
        rows.append({
            "detection": detection,
            "data": detection.as_dict(),
            "colour": colour,
            "ink": _ink_for(colour),
            "text": text,
            "x": x0, "y": y0, "w": max(x1 - x0, 0.0), "h": max(y1 - y0, 0.0),
            "tag_y": tag_y, "tag_w": len(text) * font * 0.6 + font * 0.5, "tag_h": tag_h,
            "text_x": x0 + font * 0.25, "text_y": tag_y + font * 0.95,
        })
    return {"rows": rows, "font": font}


@require_http_methods(["GET", "POST"])
@rate_limited("detect-page", methods=["POST"])  # the form runs the model as the API does
def page(request):
    context = {
        "samples": service.samples(),
        "active": registry.active_records(service.TASK),
        "training": training_slots(service.TASK),
        "threshold": service.DEFAULT_THRESHOLD,
        "class_names_json": json.dumps(service.serving_class_names()),
    }

    def detect_form():
        context["threshold"] = parse_threshold(request.POST.get("threshold"))
        image = image_from_form(request, service.sample_image)
        result = service.detect(image, threshold=context["threshold"])
        context.update(result=result, drawn=_drawn(result), preview=preview_data_url(image, PREVIEW_SIDE))

    return image_page(request, "detector/detect.html", context, detect_form, service.NO_MODEL_MESSAGE)


@api_view("detect")
def api_detect(request):
    """POST image=<file> (or sample=<index>), optional threshold in [0, 1] (default 0.25) ->
    {"width", "height", "detections": [{"label", "score", "box": [x_min, y_min, x_max, y_max]}],
    "latency_ms"}, boxes in the pixels of the image after EXIF orientation.
    Errors: {"error": …} with a 4xx, or 503 without an active model."""
    threshold = parse_threshold(request.POST.get("threshold"))
    image = image_from_form(request, service.sample_image)
    return JsonResponse(service.detect(image, threshold=threshold).as_json())


@require_GET
def sample_image(request, index):
    """A sample scene as a JPEG."""
    return sample_response(service.sample_image(index), quality=90)
