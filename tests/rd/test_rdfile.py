"""fpsnr.rd.rdfile: RD files written crash-safe, read back with every cell checked."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import fpsnr
import fpsnr.images.io
from fpsnr.cli import cli
from fpsnr.errors import ParameterError
from fpsnr.options import BatchOptions
from fpsnr.rd.loop import run_rd
from fpsnr.rd.rdfile import read_rd_csv, write_rd_csv
from tests.conftest import one_line_error
from tests.rd.test_loop import FakeCodec


@pytest.mark.parametrize(("cell", "column"), [("abc", "bpp"), ("nan", "psnr"), ("-1", "bpp"), ("x", "psnr")])
def test_bad_rd_cells_are_named_by_line_and_column(tmp_path, cell, column):
    """F29: 'abc' or 'nan' in bpp/psnr gave TypeErrors in bdrate and both plots."""
    good = {"bpp": "0.5", "psnr": "30"}
    good[column] = cell
    path = tmp_path / "rd.csv"
    path.write_text(
        f"codec,rate_point,image,bpp,psnr,error\nj,1,a.png,0.4,29,\nj,2,a.png,{good['bpp']},{good['psnr']},\n"
    )
    runner = CliRunner()
    for args in (["bdrate", str(path), "--anchor", "j", "--test", "j"],
                 ["plot", "rd", str(path), "-o", str(tmp_path / "p.png")],
                 ["ratio", str(path), "--codec", "j"]):  # fmt: skip
        line = one_line_error(runner.invoke(cli, args))
        assert f"line 3, column {column}: {cell!r}" in line




@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.text(max_size=8), min_size=4, max_size=4))
def test_any_rd_cells_read_as_numbers_or_one_error(tmp_path_factory, cells):
    path = tmp_path_factory.mktemp("rd") / "rd.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["codec", "rate_point", "image", "bpp", "psnr", "error"])
        writer.writerow(["j", "1", "a.png", cells[0], cells[1], ""])
        writer.writerow(["j", "2", "a.png", cells[2], cells[3], "failed"])
    try:
        frame = read_rd_csv(path)
    except ParameterError as err:
        assert "\n" not in str(err)
    else:
        assert frame["bpp"].dtype.kind in "iuf" and frame["psnr"].dtype.kind in "iuf"
        assert np.isfinite(frame["bpp"].iloc[0]) and frame["bpp"].iloc[0] >= 0




def test_rd_csv_is_written_as_rows_come_and_a_refused_run_leaves_nothing(photos, tmp_path):
    out = tmp_path / "out" / "rd.csv"
    seen = []

    def rows():
        for k in range(3):
            if k == 1:  # the first row is already on disk, in the partial file
                seen.append((tmp_path / "out" / "rd.csv.partial").read_text().count("\n"))
            yield {"codec": "c", "rate_point": f"p{k}", "quality": k, "image": "a.png", "bpp": 0.1 * k,
                   "error": "line one\nline two" if k == 2 else ""}  # fmt: skip

    written = write_rd_csv(rows(), out, (0.5,))
    assert len(written) == 3 and seen == [2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["rd.csv"]
    back = read_rd_csv(out)
    assert list(back["rate_point"]) == ["p0", "p1", "p2"] and back["error"][2] == "line one\nline two"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(fpsnr.ParameterError, match="no images found"):
        write_rd_csv(run_rd(empty, {}, [FakeCodec("a", (1,))], BatchOptions()), tmp_path / "no.csv", (0.5,))
    assert not list(tmp_path.glob("no.csv*"))


@pytest.mark.timeout(60)
def test_an_rd_file_from_a_device_or_pipe_is_read_counted(tmp_path):
    """Reliability G22: /dev/zero or an endless pipe of rows read until out of memory."""
    import os
    import threading

    from fpsnr.limits import MAX_TEXT_BYTES

    if os.path.exists("/dev/zero"):
        with pytest.raises(ParameterError, match=f"/dev/zero: more than {MAX_TEXT_BYTES:,} bytes from a"):
            read_rd_csv("/dev/zero")
    text = "codec,rate_point,image,bpp,psnr,error\nj,1,a.png,0.4,29,\n"
    fifo = tmp_path / "rows"
    os.mkfifo(fifo)
    for what, body in (("a real RD file through a pipe reads", text.encode()),
                       ("an endless one is cut off", None)):  # fmt: skip
        def write(body: bytes | None = body) -> None:
            with fifo.open("wb") as pipe:
                if body is not None:
                    pipe.write(body)
                    return
                row = b"j,1,a.png,0.4,29,\n" * 4096
                try:
                    pipe.write(text.encode())
                    while True:
                        pipe.write(row)
                except BrokenPipeError:
                    pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        if body is not None:
            assert list(read_rd_csv(fifo)["bpp"]) == [0.4], what
        else:
            with pytest.raises(ParameterError, match="bytes from a pipe or device; save the RD CSV"):
                read_rd_csv(fifo)
        writer.join(10)
