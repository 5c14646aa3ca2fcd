"""/experiments/ and /experiments/<name>/: public, read-only; every experiment listed with its
status; the result rows' data-* contract; an experiment never run shows its command."""

import pytest

from experiments import catalogue
from experiments.models import ExperimentResult
from registry.models import TrainingRun

pytestmark = pytest.mark.django_db


def make_result(name="augmentation", **fields):
    runs = [TrainingRun.objects.create(command="train_classifier", resume_key=f"k{i}", status="finished",
                                       epochs=[{"epoch": 1, "accuracy": 0.5 + i / 10, "val_accuracy": 0.4}])
            for i in range(4)]
    measurements = [
        {"variant": "without augmentation", "seed": 0, "value": 0.5, "runs": [runs[0].pk]},
        {"variant": "with augmentation", "seed": 0, "value": 0.7, "runs": [runs[1].pk]},
        {"variant": "without augmentation", "seed": 1, "value": 0.6, "runs": [runs[2].pk]},
        {"variant": "with augmentation", "seed": 1, "value": 0.9, "runs": [runs[3].pk]},
    ]
    values = dict(name=name, status="finished", seeds=2, quick=True, data="democ", measurements=measurements,
                  command_line="python manage.py run_experiment augmentation --data democ --seeds 2 --quick")
    values.update(fields)
    return ExperimentResult.objects.create(**values), runs


def test_the_list_shows_every_experiment_with_its_status(client):
    make_result()
    page = client.get("/experiments/").content.decode()
    for name in catalogue.NAMES:
        assert f'data-experiment="{name}"' in page
    assert 'data-experiment="augmentation" data-experiment-status="finished"' in page
    assert 'data-experiment="optimizers" data-experiment-status="never run"' in page
    assert "python manage.py run_experiment optimizers --data DIR" in page


def test_a_result_row_carries_the_experiment_variant_metric_and_mean(client):
    result, runs = make_result()
    page = client.get("/experiments/augmentation/").content.decode()
    assert ('data-experiment="augmentation" data-variant="without augmentation" data-metric="test_top1" '
            'data-mean="0.55"') in page
    assert 'data-variant="with augmentation" data-metric="test_top1" data-mean="0.8"' in page
    assert "0.800 ± 0.141" in page  # mean ± sample std of 0.7 and 0.9
    assert 'data-difference="with augmentation"' in page and "+0.250 ± 0.071" in page
    assert result.command_line in page
    for run in runs:
        assert f'href="/runs/{run.pk}/"' in page
    assert 'id="experiment-curves"' in page and "experiments/experiment" in page
    assert "The book expects" in page and catalogue.EXPERIMENTS["augmentation"].book in page


def test_an_experiment_never_run_shows_the_command_that_runs_it(client):
    page = client.get("/experiments/detector-schedule/").content.decode()
    assert "python manage.py run_experiment detector-schedule --data DIR" in page
    assert "data-variant" not in page
    page = client.get("/experiments/qlearning-vs-dqn/").content.decode()
    assert "python manage.py run_experiment qlearning-vs-dqn<" in page


def test_the_latest_result_is_shown_and_a_running_one_shows_what_it_has(client):
    make_result(status="finished")
    make_result(status="running", measurements=[{"variant": "without augmentation", "seed": 0, "value": 0.4, "runs": []}])
    page = client.get("/experiments/augmentation/").content.decode()
    assert "status-running" in page
    assert 'data-variant="without augmentation" data-metric="test_top1" data-mean="0.4"' in page
    assert 'data-variant="with augmentation"' not in page


def test_an_unknown_experiment_is_a_404_and_the_pages_are_read_only(client):
    assert client.get("/experiments/dropout/").status_code == 404
    assert client.post("/experiments/augmentation/").status_code in (403, 405)


def test_the_pages_speak_korean_and_japanese(client):
    korean = client.get("/experiments/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="ko">' in korean and "아직 실행하지 않았습니다" in korean
    japanese = client.get("/experiments/two-stage/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "本の予想" in japanese and "未実行" in japanese
