"""Atomic writes: the target is the old file or the whole new one, never half of one."""

from __future__ import annotations

import pytest

from fpsnr.files import atomic_open, atomic_path, write_bytes_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(target, "w") as handle:
        handle.write("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "blob.bin"
    write_bytes_atomic(target, b"one")
    with atomic_path(target) as tmp:
        assert tmp != target and not target.read_bytes() == b"two"
        tmp.write_bytes(b"two")
        assert target.read_bytes() == b"one"  # nothing visible before the rename
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


def test_outputs_get_the_usual_permissions(tmp_path):
    import os

    with atomic_path(tmp_path / "w.bin") as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)  # as safetensors creates its files
        os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "w.bin").stat().st_mode & 0o777 == 0o666 & ~mask
