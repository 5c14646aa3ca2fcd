"""The run pages in Korean and Japanese: every word translated, every data-* attribute, id, class
and link exactly as in English (the scripts and tests read those)."""

from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings

from tests.registry.test_runs import make_demo_run, make_run, staff_client  # noqa: F401  (a fixture)

EPOCHS = [{"epoch": 1, "loss": 0.9, "val_accuracy": 0.5}, {"epoch": 2, "loss": 0.7, "val_accuracy": 0.6}]


class Markup(HTMLParser):
    """The attributes a page's scripts and tests rely on: data-*, id, class and href, in order."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("data-") or name in {"id", "class", "href"}:
                self.found.append((tag, name, value))


def markup(html):
    parser = Markup()
    parser.feed(html)
    return parser.found


def text(response):
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_public_demo_run_page_is_korean_with_the_same_markup(client):
    run = make_demo_run(arguments={"demo": True, "epochs": 6}, epochs=EPOCHS)
    english = text(client.get(f"/runs/{run.pk}/"))
    korean = text(client.get(f"/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9"))
    assert '<html lang="ko">' in korean
    assert f"<h1>실행 #{run.pk} " in korean and "백그라운드에서 학습하는 데모 모델" in korean
    assert "data-run-status>실행 중</span>" in korean and "data-run-status>running</span>" in english
    assert "에포크 2 / 6" in korean and "에포크당" in korean and "학습 곡선" in korean
    for words in ("Learning curves", "A demo model", "epoch 2 of 6", "Status", "Progress"):
        assert words not in korean
    assert markup(korean) == markup(english)


@pytest.mark.django_db
def test_the_runs_list_follows_the_language_cookie_with_the_same_markup(staff_client):
    make_run(status="finished", task="classification", architecture="cnn9", epochs=EPOCHS, resume_key="a")
    make_run(status="interrupted", resume_key="b")
    english = text(staff_client.get("/runs/?sort=-best"))
    staff_client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "ko"
    korean = text(staff_client.get("/runs/?sort=-best"))
    assert "<h1>학습 실행</h1>" in korean and "선택한 실행 비교" in korean
    assert ">완료</span>" in korean and ">중단됨</span>" in korean and "(에포크 2)" in korean
    assert '<option value="finished">완료</option>' in korean  # the filter still sends the raw status
    assert "Compare selected runs" not in korean and "Best validation" not in korean
    assert markup(korean) == markup(english)


@pytest.mark.django_db
def test_the_compare_page_and_its_errors_in_japanese(staff_client):
    a = make_run(arguments={"lr": 0.01}, resume_key="a", epochs=EPOCHS)
    b = make_run(arguments={"lr": 0.001}, resume_key="b")
    url = f"/runs/compare/?ids={a.pk},{b.pk}"
    english = text(staff_client.get(url))
    japanese = text(staff_client.get(url, HTTP_ACCEPT_LANGUAGE="ja"))
    assert "<h1>実行の比較 " in japanese and "異なるハイパーパラメータ" in japanese and "各指標の最後の値" in japanese
    assert markup(japanese) == markup(english)
    missing = staff_client.get(f"/runs/compare/?ids={a.pk},999", HTTP_ACCEPT_LANGUAGE="ja")
    assert missing.status_code == 404
    assert "<h1>比較できません</h1>" in missing.content.decode() and "実行 #999 はありません。" in missing.content.decode()
