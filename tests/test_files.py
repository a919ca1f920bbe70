"""Atomic writes: the target is the old file or the whole new one, never half of one."""

from __future__ import annotations

import pytest

from fpsnr.errors import OutputError
from fpsnr.files import atomic_open, atomic_path, save_atomic, write_bytes_atomic


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


def test_planted_links_are_never_written_through(tmp_path):
    """Reliability 2026-12 G5/G27: a link at <out>.tmp or <out>.lock made a run overwrite or
    truncate the file it pointed to; an --out that was a link became a regular file."""
    import numpy as np
    from click.testing import CliRunner

    from fpsnr.cli import cli
    from fpsnr.errors import OutputError
    from fpsnr.images.io import write_image

    for folder in ("ref", "test"):
        (tmp_path / folder).mkdir()
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    write_image(tmp_path / "ref" / "a.png", img)
    write_image(tmp_path / "test" / "a.png", 255 - img)
    victims = {name: tmp_path / f"victim-{name}" for name in ("tmp", "lock", "out")}
    for victim in victims.values():
        victim.write_text("keep\n")
    (tmp_path / "s.csv.tmp").symlink_to(victims["tmp"])
    (tmp_path / "l.csv.lock").symlink_to(victims["lock"])
    (tmp_path / "o.csv").symlink_to(victims["out"])
    base = ["batch", str(tmp_path / "ref"), str(tmp_path / "test"), "--missing-regions", "center", "-j", "1"]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "-o", str(tmp_path / "s.csv")]).exit_code == 0
    assert not (tmp_path / "s.csv").is_symlink() and "label" in (tmp_path / "s.csv").read_text()
    locked = runner.invoke(cli, [*base, "-o", str(tmp_path / "l.csv")])
    assert locked.exit_code == 1 and "l.csv.lock: is a symbolic link, not fpsnr's lock file" in locked.stderr
    linked = runner.invoke(cli, [*base, "-o", str(tmp_path / "o.csv"), "--overwrite"])
    assert linked.exit_code == 1 and "o.csv: is a symbolic link (to " in linked.stderr
    assert all(v.read_text() == "keep\n" for v in victims.values())
    with pytest.raises(OutputError, match="is a symbolic link"):
        write_bytes_atomic(tmp_path / "o.csv", b"x")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p.is_dir()) == []


def test_a_saver_that_fails_on_a_full_disk_is_one_output_error_and_the_old_file_stays(tmp_path, monkeypatch):
    """G21: torch's zip writer said "[enforce fail at inline_container.cc:672] unexpected pos"."""
    import shutil
    from collections import namedtuple

    target = tmp_path / "state.pt"
    target.write_bytes(b"old")

    def torch_like_save(tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 167936 vs 167828")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 20, 1 << 20, 0))
    with pytest.raises(OutputError, match=rf"^{target}: cannot write \(No space left on device\)$"):
        save_atomic(target, torch_like_save)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["state.pt"]

    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 0, 1 << 30))
    with pytest.raises(OutputError, match=r"cannot write \(RuntimeError: \[enforce fail"):
        save_atomic(target, torch_like_save)

    def os_error(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write \(No space left on device\)$"):
        save_atomic(target, os_error)
    save_atomic(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
