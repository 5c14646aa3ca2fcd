"""Shared fixtures of the detector tests (defined in fixtures.py, shared with the browser test)."""

from tests.detector.fixtures import active_detector, demo_scenes, trained_detector  # noqa: F401
