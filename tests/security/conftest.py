import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made in many of these tests; a fast hasher keeps them quick (not a security test of hashing)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
