from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

SHARED = Path(__file__).resolve().parents[2] / "shared"
KODAK = SHARED / "data" / "kodak"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)


@pytest.fixture
def kodak_dir() -> Path:
    if not (KODAK / "kodim23.png").is_file():
        pytest.skip("../shared/data/kodak is not present (fresh clone)")
    return KODAK


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
