"""The site's URLs plus one view that fails, to see the 500 page a visitor gets (DEBUG off)."""

from django.urls import path

from deepboot_site.urls import handler404, handler500, urlpatterns as site_urlpatterns  # noqa: F401

LEAKY_MESSAGE = "leak-marker: password=hunter2 in /srv/deepboot/secret.py"


def failing_view(request):
    raise RuntimeError(LEAKY_MESSAGE)


urlpatterns = [path("boom/", failing_view), *site_urlpatterns]
