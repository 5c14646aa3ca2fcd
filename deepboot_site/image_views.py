"""What the classify and detect views share: the image of a form (an upload, or a sample chosen by
index), the page with its form post (`image_page`, refusals shown on the page), the /api/ view
wrapper (refusals answered as JSON), and the JPEGs the pages show. The views keep what is theirs:
which service to call and what to put in the page."""

import base64
import functools
import io

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from registry.registry import ModelUnavailable

from .errors import json_error
from .ratelimit import rate_limited
from .uploads import UploadError, read_uploaded_image

# What a form post or an API call is refused with: a bad upload (its own status) or no model (503).
REFUSALS = (UploadError, ModelUnavailable)


def refusal(exc):
    """(message, status) for one of REFUSALS."""
    if isinstance(exc, UploadError):
        return exc.message, exc.status
    return str(exc), 503


def image_from_form(request, sample_image):
    """The uploaded `image`, or the sample chosen with `sample=<index>` when no file was sent.
    `sample_image(index)` is the app's service function (an image, or None for no such sample)."""
    if not request.FILES.getlist("image") and request.POST.get("sample", "").strip():
        try:
            image = sample_image(int(request.POST["sample"]))
        except ValueError:
            image = None
        if image is None:
            raise UploadError(_("No such sample image."), status=404)
        return image
    return read_uploaded_image(request)


def run_form(context, work):
    """Run a page's form post: `work()` fills `context`; a refusal becomes context["error"] instead.
    Returns the HTTP status to render the page with."""
    try:
        work()
    except REFUSALS as exc:
        context["error"], status = refusal(exc)
        return status
    return 200


def image_page(request, template, context, work, no_model_message):
    """Render an image page; a form post first runs `work()` (run_form), which fills `context`.
    With no active model (context["active"] empty) the page says which command makes one."""
    status = run_form(context, work) if request.method == "POST" else 200
    if not context["active"]:
        context["unavailable"] = no_model_message
    return render(request, template, context, status=status)


def api_view(scope):
    """Decorate an image API view: exempt from CSRF (a public API for clients posting multipart
    uploads; the pages' forms keep CSRF), rate limited under `scope` (every request counts), POST
    only (405 with Allow), and REFUSALS answered as {"error": …} with their status."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method != "POST":
                response = json_error(_("Use POST with a multipart field 'image'."), 405)
                response["Allow"] = "POST"
                return response
            try:
                return view(request, *args, **kwargs)
            except REFUSALS as exc:
                return json_error(*refusal(exc))

        return csrf_exempt(rate_limited(scope)(wrapped))

    return decorator


def _jpeg(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def preview_data_url(image, max_side):
    """The image as a JPEG data: URL, at most `max_side` pixels a side (the page's preview)."""
    preview = image.copy()
    preview.thumbnail((max_side, max_side))
    return "data:image/jpeg;base64," + base64.b64encode(_jpeg(preview, 85)).decode("ascii")


def sample_response(image, quality, max_side=None):
    """A sample image as a JPEG response (re-encoded: only pixels leave the server), 404 for None."""
    if image is None:
        raise Http404("No such sample.")
    if max_side is not None:
        image.thumbnail((max_side, max_side))
    response = HttpResponse(_jpeg(image, quality), content_type="image/jpeg")
    response["Cache-Control"] = "max-age=300"
    return response
