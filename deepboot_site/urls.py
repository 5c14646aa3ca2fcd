from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from registry import runs
from registry import views as registry_views
from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("models/", registry_views.models_page, name="models"),
    path("runs/", runs.run_list, name="runs"),
    path("runs/compare/", runs.run_compare, name="runs-compare"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/files/<path:path>", runs.run_file, name="run-file"),
    path("runs/<int:pk>.json", runs.run_json, name="run-json"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("classifier.urls")),
    path("", include("detector.urls")),
    path("", include("tictactoe.urls")),
    path("", include("experiments.urls")),
]

handler400 = "deepboot_site.views.bad_request"
handler404 = "deepboot_site.views.page_not_found"
handler500 = "deepboot_site.views.server_error"
