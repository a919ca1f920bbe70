"""The bitstream parser: pure Python, fuzzed (runs without the codec extra)."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpsnr.codec.bitstream import MAGIC, Header, latent_shape, pack, unpack
from fpsnr.errors import BitstreamError
from tests.codec.conftest import PLAIN


def _header(**changes):
    base = dict(
        model="bmshj2018-hyperprior",
        weights_id=b"\x01" * 8,
        lmbda=0.013,
        height=70,
        width=130,
        channels=3,
        z_shape=latent_shape(70, 130),
        index_crc=1234,
        z_length=5,
        y_length=9,
    )
    base.update(changes)
    return Header(**base)


def _file():
    return pack(_header(), b"zzzzz", b"yyyyyyyyy")


def test_round_trip_of_header_and_strings():
    header, z, y = unpack(_file())
    assert header == _header() and z == b"zzzzz" and y == b"yyyyyyyyy"
    assert latent_shape(70, 130) == (2, 3)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: b"JUNK" + d[4:], "not an fpsnr bitstream"),
        (lambda d: d[:4] + bytes([9]) + d[5:], "format version 9; this fpsnr reads version 1"),
        (lambda d: d[:-3], "truncated"),
        (lambda d: d + b"x", "trailing bytes"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum mismatch"),
        (lambda d: d[:10], "truncated header"),
        (lambda d: b"FP", "too short"),
    ],
)
def test_damaged_files_are_refused(mutate, message):
    with pytest.raises(BitstreamError, match=message):
        unpack(mutate(_file()), source="x.fpc")


def test_absurd_sizes_are_refused_before_any_allocation():
    huge = pack(_header(height=100_000, width=100_000, z_shape=latent_shape(100_000, 100_000)), b"z", b"y")
    with pytest.raises(BitstreamError, match=r"claims a 100000×100000 image; refusing"):
        unpack(huge)
    wrong = pack(_header(z_shape=(50, 50)), b"z", b"y")
    with pytest.raises(BitstreamError, match="latent 50×50 does not match 130×70"):
        unpack(wrong)
    with pytest.raises(BitstreamError, match="claims 7 channels"):
        unpack(pack(_header(channels=7), b"z", b"y"))


def test_header_length_field_is_checked():
    data = bytearray(_file())
    struct.pack_into("<H", data, 5, 60000)
    with pytest.raises(BitstreamError, match="truncated header"):
        unpack(bytes(data))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_any_corruption_gives_a_bitstream_error_or_the_original(data):
    original = _file()
    blob = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        if not blob:
            break
        i = data.draw(st.integers(0, len(blob) - 1))
        if op == "flip":
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del blob[i:]
        elif op == "insert":
            blob[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            blob[i] = data.draw(st.integers(0, 255))
    try:
        header, _, _ = unpack(bytes(blob))
    except BitstreamError:
        return
    assert bytes(blob) == original and header == _header()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_never_crash(blob):
    try:
        unpack(MAGIC + blob)
    except BitstreamError:
        pass




@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_mutation_of_a_header_is_parsed_or_one_bitstream_error(data):
    """Fuzz: flips, truncations and rewritten fields (CRC recomputed or not) never escape as other errors."""
    from fpsnr.codec.bitstream import Header

    header = Header(model=PLAIN, weights_id=b"01234567", lmbda=0.01, height=64, width=96, channels=3,
                    z_shape=latent_shape(64, 96), index_crc=7, z_length=5, y_length=9)  # fmt: skip
    fields = data.draw(st.fixed_dictionaries({}, optional={
        "height": st.integers(0, 2**32 - 1), "width": st.integers(0, 2**32 - 1),
        "channels": st.integers(0, 255),
        "z_length": st.integers(0, 40), "y_length": st.integers(0, 40),
    }))  # fmt: skip
    try:
        blob = bytearray(pack(replace(header, **fields), b"z" * 5, b"y" * 9))
    except (BitstreamError, OverflowError, ValueError):
        return
    for _ in range(data.draw(st.integers(0, 3))):
        if blob:
            blob[data.draw(st.integers(0, len(blob) - 1))] ^= data.draw(st.integers(1, 255))
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    try:
        parsed, z, y = unpack(bytes(blob), source="f.fpc")
    except BitstreamError as err:
        assert "\n" not in str(err) and str(err).startswith("f.fpc")
    else:
        assert len(z) == parsed.z_length and len(y) == parsed.y_length
