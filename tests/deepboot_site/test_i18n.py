"""The site in English, Korean and Japanese: language choice, pages, API errors, catalogues."""

import gettext
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from deepboot_site.labels import DEMO_LABELS, display_label

LOCALE = Path(django_settings.BASE_DIR) / "locale"


@pytest.fixture(autouse=True)
def generous_rate(settings):
    settings.DEEPBOOT_API_RATE = "100000/m"


@pytest.mark.django_db
def test_without_accept_language_the_site_is_english(client):
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html and "See deep learning work" in html


@pytest.mark.django_db
def test_accept_language_ko_gives_a_korean_home_page(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9").content.decode()
    assert '<html lang="ko">' in html
    assert "딥러닝이 일하는 모습을 보세요" in html and "See deep learning work" not in html


@pytest.mark.django_db
def test_accept_language_ja_gives_a_japanese_tictactoe_page(client):
    html = client.get("/tictactoe/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="ja">' in html and "先手を選んでください。" in html


@pytest.mark.django_db
def test_the_header_offers_the_three_languages_to_set_language(client):
    html = client.get("/").content.decode()
    switcher = html.split("data-language-switcher")[1].split("</form>")[0]
    assert 'action="/i18n/setlang/"' in html.split("data-language-switcher")[0].rsplit("<form", 1)[1]
    for code, name in (("en", "English"), ("ko", "한국어"), ("ja", "日本語")):
        assert f'value="{code}"' in switcher and name in switcher


@pytest.mark.django_db
def test_the_switcher_choice_is_remembered_over_accept_language(client):
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "ja"
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="ja">' in html and "ディープラーニング" in html


@pytest.mark.django_db
def test_api_error_is_in_japanese_with_the_same_keys(client):
    english = client.post("/api/classify/", {})
    japanese = client.post("/api/classify/", {}, HTTP_ACCEPT_LANGUAGE="ja")
    assert english.status_code == japanese.status_code == 400
    assert set(json.loads(english.content)) == set(json.loads(japanese.content)) == {"error"}
    assert json.loads(english.content)["error"] == "No image was sent: upload a file in the 'image' field."
    assert json.loads(japanese.content)["error"] == "画像が送られていません。'image' フィールドにファイルをアップロードしてください。"


@pytest.mark.django_db
def test_api_error_with_a_placeholder_is_in_korean(client):
    response = client.post("/api/detect/", {"threshold": "x"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 400
    assert json.loads(response.content)["error"].startswith("'threshold'는 0과 1 사이의 숫자여야 합니다")


@pytest.mark.django_db
def test_the_javascript_catalog_serves_the_scripts_strings(client):
    body = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "AI\\ub97c \\uae30\\ub2e4\\ub9ac\\ub294 \\uc911" in body or "AI를 기다리는 중" in body


def test_demo_class_labels_are_translated_and_others_kept(settings):
    from django.utils import translation

    with translation.override("ja"):
        assert display_label("triangle") == "三角形"
        assert display_label("zebra") == "zebra"
    with translation.override("ko"):
        assert display_label("stripes") == "줄무늬"
    assert set(DEMO_LABELS) == {"checker", "circle", "cross", "square", "star", "stripes", "triangle"}


def po_entries(path):
    """{(msgctxt or None, msgid): msgstr} of a .po file, plural entries by their singular and first form."""
    entries, current, field = {}, {}, None

    def flush():
        if "msgid" in current and current["msgid"]:
            entries[(current.get("msgctxt"), current["msgid"])] = current.get("msgstr", current.get("msgstr[0]", ""))

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            current, field = {}, None
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += json.loads(line)
        else:
            field, _, value = line.partition(" ")
            current[field] = json.loads(value)
    return entries


CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


def test_there_are_korean_and_japanese_catalogues_for_pages_and_scripts():
    names = {str(p.relative_to(LOCALE)) for p in CATALOGUES}
    assert names == {f"{lang}/LC_MESSAGES/{domain}.po" for lang in ("ko", "ja") for domain in ("django", "djangojs")}


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_each_compiled_catalogue_matches_its_po_file(po):
    """A .po edited without `manage.py compilemessages` leaves its .mo behind: this fails."""
    with po.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    entries = po_entries(po)
    assert entries, f"{po} has no messages"
    for (context, msgid), msgstr in entries.items():
        assert msgstr, f"{po}: {msgid!r} is not translated"
        found = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        assert found == msgstr, f"{po}: {msgid!r} is {found!r} in the .mo, {msgstr!r} in the .po: run compilemessages"
    assert len(compiled._catalog) - 1 >= len(entries)  # the header is an entry of its own


@pytest.mark.django_db
def test_a_rate_limited_api_answers_in_korean(client, settings):
    from django.core.cache import cache

    cache.clear()
    settings.DEEPBOOT_API_RATE = "1/m"
    client.post("/api/classify/", {}, HTTP_ACCEPT_LANGUAGE="ko")
    response = client.post("/api/classify/", {}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 429
    assert json.loads(response.content)["error"].startswith("요청이 너무 많습니다. 클라이언트당 한도는 1/m입니다.")
