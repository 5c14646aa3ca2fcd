"""The site's own pages: home and error pages that leak nothing (the Models page is the registry's)."""

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponseServerError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from .errors import json_error


def home(request):
    return render(request, "home.html")


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return json_error(_("There is no API at this address."), 404)
    return render(request, "404.html", status=404)


def refusal(exception):
    """(status, message) for a request Django refused while reading it (its parsing limits, a
    malformed multipart body) or another bad request."""
    if isinstance(exception, TooManyFilesSent):
        return 400, _("Too many files in one request: send one image (the limit is %(limit)s).") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    if isinstance(exception, TooManyFieldsSent):
        return 400, _("Too many form fields in one request (the limit is %(limit)s).") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exception, RequestDataTooBig):
        return 413, _("The request's form data is too large.")
    if isinstance(exception, MultiPartParserError):
        return 400, _("The request body is not valid multipart/form-data: %(detail)s") % {"detail": str(exception)[:200]}
    if isinstance(exception, DisallowedHost):
        return 400, "This site does not answer for the host named in this request."
    return 400, "The request could not be read."


def bad_request(request, exception):
    """Django's 400s (its request-parsing limits included): JSON on /api/, a page elsewhere."""
    status, message = refusal(exception)
    if request.path.startswith("/api/"):
        return json_error(message, status)
    return render(request, "400.html", {"message": message}, status=status)


def server_error(request):
    # No context processors: the error may come from the database or a template.
    return HttpResponseServerError(loader.get_template("500.html").render())


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login from a locked-out address: 429, a page saying for how long,
    and Retry-After."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    context = {"failures": settings.AXES_FAILURE_LIMIT, "minutes": f"{seconds / 60:g}"}
    response = render(request, "locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
