"""classifier/register.py: a finished run into the registry, by the chief only."""

from types import SimpleNamespace

import pytest

from registry import registry


@pytest.mark.django_db
def test_a_follower_worker_registers_nothing(trained):
    from classifier import register
    from tests.classifier.conftest import tiny_config

    result = trained["cnn9"]
    follower = SimpleNamespace(is_chief=False)
    assert register.register(result, tiny_config("cnn9", "data"), follower, activate=True) is None
    assert not registry.TrainedModel.objects.exists()
