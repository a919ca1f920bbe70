"""Fixtures of the RD tests."""

from __future__ import annotations

import pytest

from tests.conftest import write_photos


@pytest.fixture
def photos(tmp_path, rng):
    return write_photos(tmp_path / "data", rng, count=2, height=176, width=192)
