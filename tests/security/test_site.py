"""The site lets no one in: CSRF on every form, the admin and /runs/ behind staff login, and 404
and 500 pages of our own that leak nothing (DEBUG off, as pytest-django runs Django)."""

import re
from pathlib import Path
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLResolver, get_resolver

from registry.models import TrainedModel, TrainingRun
from tests.security.urls import LEAKY_MESSAGE

# ---------------------------------------------------------------------------------------------
# Every form on every page


class FormParser(HTMLParser):
    """The POST forms of a page: [(action, {field: value})], without the CSRF token field."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self._form = (attrs.get("action") or "", {}) if method == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea") and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file") or (kind in ("checkbox", "radio") and "checked" not in attrs):
                return
            if attrs["name"] != "csrfmiddlewaretoken":
                self._form[1].setdefault(attrs["name"], attrs.get("value") or "")
        elif self._form is not None and tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self._form[1].setdefault(self._select, "")
        elif self._select and tag == "option" and "selected" in attrs:
            self._form[1][self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def post_forms(html):
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def site_routes():
    """Every route of the URLconf, as (route, name)."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.name

    return list(walk(get_resolver().url_patterns))


@pytest.fixture
def staff(db):
    return User.objects.create_user("staff", "staff@example.com", "a-long-staff-password", is_staff=True, is_superuser=True)


@pytest.fixture
def site_objects(staff):
    """One row of each model the admin or /runs/ shows, so their change pages have forms."""
    model = TrainedModel.objects.create(task="classification", architecture="cnn9", path="classification/x.keras")
    run = TrainingRun.objects.create(command="train_classifier", resume_key="k", model=model)
    group = Group.objects.create(name="editors")
    return {"trainedmodel": model.pk, "trainingrun": run.pk, "user": staff.pk, "group": group.pk, "run": run.pk}


def concrete_pages(objects):
    """Every GET-able page of the site, with path parameters filled from `objects`; regex routes,
    JSON helpers and the logout URL (POST only) are left out."""
    pages = []
    for route, name in site_routes():
        if route.startswith("^") or "(?P<" in route or name in {"jsi18n", "autocomplete", "view_on_site", "logout"}:
            continue
        admin_model = re.match(r"admin/\w+/(\w+)/", route)
        value = objects.get(admin_model.group(1)) if admin_model else objects["run"]
        path = re.sub(r"<(?:\w+:)?\w+>", str(value), route)
        if "<" not in path:
            pages.append("/" + path)
    return pages


def visitor_client(user):
    browser = Client(enforce_csrf_checks=True)
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.mark.django_db
def test_every_post_form_on_every_page_is_refused_without_its_csrf_token(site_objects, staff):
    checked, seen = [], set()
    for user in (None, staff):  # the public pages as a visitor sees them, then every staff page
        browser = visitor_client(user)
        for page in concrete_pages(site_objects):
            response = browser.get(page)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            for action, fields in post_forms(response.content.decode()):
                target = urlparse(urljoin("http://testserver" + page, action))
                key = (target.path, tuple(sorted(fields)))
                if target.netloc != "testserver" or key in seen:
                    continue
                seen.add(key)
                without_token = visitor_client(user)
                without_token.get(page)  # the CSRF cookie is set; only the form's token is missing
                refused = without_token.post(target.path, fields)
                assert refused.status_code == 403, f"form on {page} posting to {target.path} took no CSRF token"
                assert b"CSRF" in refused.content
                checked.append((page, target.path))
    pages_with_forms = {page for page, _ in checked}
    assert {"/classify/", "/detect/", "/admin/login/"} <= pages_with_forms
    assert "/admin/password_change/" in pages_with_forms
    assert f"/admin/deepboot_site/trainedmodel/{site_objects['trainedmodel']}/change/" in pages_with_forms
    assert len(checked) >= 10, checked


@pytest.mark.django_db
def test_admin_login_form_needs_its_csrf_token_and_works_with_it(staff):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/admin/login/")
    (action, fields), = post_forms(page.content.decode())
    fields.update(username="staff", password="a-long-staff-password")
    assert browser.post("/admin/login/", fields).status_code == 403
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    fields["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert token
    logged_in = browser.post("/admin/login/?next=/admin/", fields)
    assert logged_in.status_code == 302 and logged_in["Location"] == "/admin/"


# ---------------------------------------------------------------------------------------------
# Staff only

STAFF_PAGES = ["/admin/", "/runs/", "/runs/{run}/", "/runs/{run}.json", "/admin/deepboot_site/trainedmodel/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_send_visitors_to_the_login_page(client, site_objects, url):
    url = url.format(**site_objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert b"train_classifier" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_refuse_a_logged_in_user_who_is_not_staff(client, site_objects, url):
    client.force_login(User.objects.create_user("visitor", password="a-long-visitor-password"))
    response = client.get(url.format(**site_objects))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_open_for_staff(client, site_objects, staff, url):
    client.force_login(staff)
    assert client.get(url.format(**site_objects)).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_run_socket_refuses_visitors_who_are_not_staff():
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import AnonymousUser

    from registry.runs import RunConsumer

    run = await sync_to_async(TrainingRun.objects.create)(command="train_classifier", resume_key="k")
    visitor = await sync_to_async(User.objects.create_user)("visitor2", password="a-long-visitor-password")
    for user in (AnonymousUser(), visitor):
        communicator = WebsocketCommunicator(RunConsumer.as_asgi(), f"/ws/runs/{run.pk}/")
        communicator.scope["user"] = user
        communicator.scope["url_route"] = {"kwargs": {"pk": run.pk}}
        connected, code = await communicator.connect()
        assert not connected and code == 4403
        await communicator.disconnect()


# ---------------------------------------------------------------------------------------------
# Error pages


def assert_leaks_nothing(body):
    for secret in (
        settings.SECRET_KEY,
        str(settings.BASE_DIR),
        str(settings.VAR_DIR),
        "Traceback",
        "DJANGO_SETTINGS_MODULE",
        "URLconf",
        "urlpatterns",
        "SECRET_KEY",
        'File "',
        "site-packages",
    ):
        assert secret not in body, f"the error page shows {secret!r}"


@pytest.mark.django_db
def test_404_page_is_ours_and_leaks_nothing(client):
    assert settings.DEBUG is False
    response = client.get("/admin-secret/../no-such-page/?q=<script>alert(1)</script>")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "DeepBoot" in body
    assert "<script>alert(1)" not in body
    assert "admin/" not in body and "runs/" not in body, "no list of the site's routes"
    assert_leaks_nothing(body)


@pytest.mark.django_db
@pytest.mark.urls("tests.security.urls")
def test_500_page_is_ours_and_leaks_nothing():
    assert settings.DEBUG is False
    response = Client(raise_request_exception=False).get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "RuntimeError" not in body and "hunter2" not in body and LEAKY_MESSAGE not in body
    assert_leaks_nothing(body)


@pytest.mark.django_db(transaction=True)
def test_real_server_404_leaks_nothing(asgi_server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(asgi_server + "/no-such-page/", timeout=20)
    assert error.value.code == 404
    body = error.value.read().decode()
    assert "Page not found" in body
    assert_leaks_nothing(body)


@pytest.mark.django_db(transaction=True)
def test_real_server_models_page_shows_data_sets_by_name_and_models_by_id(asgi_server, active_classifier):
    import json as json_module
    import urllib.request

    active_classifier.dataset = f"demo ({settings.DATA_DIR / 'demo'})"
    active_classifier.save()
    evaluation = Path(settings.MODELS_DIR) / "classification" / "evaluation-latest.json"
    evaluation.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_text(json_module.dumps({"n_images": 3, "split": "test", "data": str(settings.DATA_DIR / "caltech101")}))
    try:
        body = urllib.request.urlopen(asgi_server + "/models/", timeout=30).read().decode()
    finally:
        evaluation.unlink()
    assert f'data-model-id="{active_classifier.pk}"' in body and "demo (demo)" in body and "caltech101" in body
    assert_leaks_nothing(body)


# ---------------------------------------------------------------------------------------------
# The CSP holds on every public page: nothing inline for it to block


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/classify/", "/detect/", "/tictactoe/", "/models/", "/admin/login/", "/no-such-page/"])
def test_public_pages_have_no_inline_script_handler_or_style_attribute(client, active_models, url):
    response = client.get(url)
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert not inline_scripts, inline_scripts
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "an on*= handler attribute"
    if not url.startswith("/admin/"):  # the admin alone may use inline styles (its CSP says so)
        assert not re.search(r"<[^>]+\sstyle\s*=", html), "a style= attribute"
