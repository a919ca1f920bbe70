"""fpsnr.codec.isolation: the rANS decoder in a child process, crafted strings, the time limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr.codec.isolation as isolation
from fpsnr.codec.bitstream import pack, unpack
from fpsnr.codec.coder import decode
from fpsnr.errors import BitstreamError
from tests.codec.conftest import encoded


@pytest.mark.parametrize("length", [0, 1, 8])
def test_a_crafted_short_y_string_is_an_error_not_a_crash(kodak_sized, length):
    """F20: a y string cut to 0–8 bytes, CRC recomputed, segfaulted the decoder (exit 139)."""
    model, info, data = kodak_sized
    header, z, y = unpack(data)
    crafted = pack(replace(header, y_length=length), z, y[:length])
    with pytest.raises(BitstreamError, match=r"the entropy decoder crashed on this bitstream \(signal SIG"):
        decode(model, info, crafted, source="y.fpc")
    assert decode(model, info, data).image.shape == (512, 768, 3)  # the process, and the model, live on


def test_a_child_that_does_not_finish_in_time_is_stopped_and_one_error(tiny_weights, rng, monkeypatch):
    """SPEC §4 promises no hang: the child has a time limit (30 s + 10 µs a symbol)."""
    assert isolation.time_limit(0) == 30 and isolation.time_limit(10**6) == pytest.approx(40)
    data, model, info = encoded(tiny_weights, rng)
    monkeypatch.setattr(isolation, "time_limit", lambda symbols: 1e-4)
    with pytest.raises(BitstreamError, match=r"^x.fpc: the entropy decoder did not finish within 0 s"):
        decode(model, info, data, source="x.fpc")
    monkeypatch.undo()
    assert decode(model, info, data).image.shape == (64, 96, 3)
