"""The /classify/ page (works without JavaScript too), POST /api/classify/, sample images and the
evaluation chart. Thin: validate the upload through deepboot_site.uploads, call the service, render."""

import base64
import io

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from registry import registry
from deepboot_site.ratelimit import rate_limited
from registry.records import training_slots
from deepboot_site.uploads import UploadError, json_error, read_uploaded_image

from . import service


def _image_from_request(request):
    """The uploaded `image`, or the sample chosen with `sample=<index>` when no file was sent."""
    if not request.FILES.getlist("image") and request.POST.get("sample", "").strip():
        try:
            image = service.sample_image(int(request.POST["sample"]))
        except ValueError:
            image = None
        if image is None:
            raise UploadError(_("No such sample image."), status=404)
        return image
    return read_uploaded_image(request)


def _thumbnail_data_url(image, max_side=320):
    thumbnail = image.copy()
    thumbnail.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    thumbnail.save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _wants_gradcam(request):
    return request.POST.get("gradcam", "").strip().lower() in {"1", "true", "yes", "on"}


@require_http_methods(["GET", "POST"])
@rate_limited("classify-page", methods=["POST"])  # the form runs the models as the API does
def page(request):
    context = {"samples": service.samples(), "active": registry.active_records(service.TASK),
               "training": training_slots(service.TASK)}
    status = 200
    if request.method == "POST":
        context["gradcam"] = _wants_gradcam(request)
        try:
            image = _image_from_request(request)
            result = service.classify(image, gradcam=context["gradcam"])
        except UploadError as exc:
            context["error"], status = exc.message, exc.status
        except registry.ModelUnavailable as exc:
            context["error"], status = str(exc), 503
        else:
            context["result"] = result
            context["preview"] = _thumbnail_data_url(image)
    if not context["active"]:
        context["unavailable"] = service.NO_MODEL_MESSAGE
    return render(request, "classifier/classify.html", context, status=status)


@csrf_exempt  # a public API for external clients posting multipart uploads; the page's form keeps CSRF
@rate_limited("classify")
def api_classify(request):
    """POST image=<file> (or sample=<index>), optional gradcam=1: every active network's top-5,
    their average and latency_ms, as JSON. Errors: {"error": …} with 4xx, or 503 without models."""
    if request.method != "POST":
        response = json_error(_("Use POST with a multipart field 'image'."), 405)
        response["Allow"] = "POST"
        return response
    try:
        image = _image_from_request(request)
        result = service.classify(image, gradcam=_wants_gradcam(request))
    except UploadError as exc:
        return json_error(exc.message, exc.status)
    except registry.ModelUnavailable as exc:
        return json_error(str(exc), 503)
    return JsonResponse(result.as_json(with_gradcam=_wants_gradcam(request)))


@require_GET
def sample_image(request, index):
    """A sample test image as a JPEG thumbnail (re-encoded: only pixels leave the server)."""
    try:
        image = service.sample_image(index)
    except UploadError:
        image = None
    if image is None:
        raise Http404("No such sample.")
    image.thumbnail((256, 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
    response["Cache-Control"] = "max-age=300"
    return response


@require_GET
def evaluation_chart(request):
    """The chart PNG of the latest evaluate_classifier run (the Models page shows it)."""
    path = service.latest_chart_path()
    if path is None:
        raise Http404("No evaluation yet: run python manage.py evaluate_classifier --data DIR.")
    return FileResponse(open(path, "rb"), content_type="image/png")
