"""The /classify/ page (works without JavaScript too), POST /api/classify/, sample images and the
evaluation chart. Thin: validate the upload through deepboot_site.uploads, call the service, render."""

from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from deepboot_site.image_views import (
    api_view, image_from_form, image_page, preview_data_url, sample_response,
)
from deepboot_site.ratelimit import rate_limited
from registry import registry
from registry.records import training_slots

from . import service

PREVIEW_SIDE = 320


def _wants_gradcam(request):
    return request.POST.get("gradcam", "").strip().lower() in {"1", "true", "yes", "on"}


@require_http_methods(["GET", "POST"])
@rate_limited("classify-page", methods=["POST"])  # the form runs the models as the API does
def page(request):
    context = {"samples": service.samples(), "active": registry.active_records(service.TASK),
               "training": training_slots(service.TASK)}

    def classify_form():
        context["gradcam"] = _wants_gradcam(request)
        image = image_from_form(request, service.sample_image)
        context["result"] = service.classify(image, gradcam=context["gradcam"])
        context["preview"] = preview_data_url(image, PREVIEW_SIDE)

    return image_page(request, "classifier/classify.html", context, classify_form, service.NO_MODEL_MESSAGE)


@api_view("classify")
def api_classify(request):
    """POST image=<file> (or sample=<index>), optional gradcam=1: every active network's top-5,
    their average and latency_ms, as JSON. Errors: {"error": …} with 4xx, or 503 without models."""
    image = image_from_form(request, service.sample_image)
    result = service.classify(image, gradcam=_wants_gradcam(request))
    return JsonResponse(result.as_json(with_gradcam=_wants_gradcam(request)))


@require_GET
def sample_image(request, index):
    """A sample test image as a JPEG thumbnail."""
    return sample_response(service.sample_image(index), quality=88, max_side=256)


@require_GET
def evaluation_chart(request):
    """The chart PNG of the latest evaluate_classifier run (the Models page shows it)."""
    path = service.latest_chart_path()
    if path is None:
        raise Http404("No evaluation yet: run python manage.py evaluate_classifier --data DIR.")
    return FileResponse(open(path, "rb"), content_type="image/png")
