"""``fpsnr anchors``: comma lists, --overwrite, --resume after a kill, worker processes."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.images.io import write_image


def test_quality_takes_a_comma_list(tmp_path, rng):
    """Finding 23: --quality 30,50 was 'not a valid integer'."""
    write_image(tmp_path / "a.png", rng.integers(0, 256, (176, 176, 3), dtype=np.uint8))
    (tmp_path / "a.json").write_text('{"width": 176, "height": 176, "regions": [{"center": [88, 88]}]}')
    out = tmp_path / "rd.csv"
    args = ["anchors", "--data", str(tmp_path), "--regions", str(tmp_path / "a.json"), "--codec", "jpeg",
            "--quality", "30,50", "--quality", "70", "-o", str(out)]  # fmt: skip
    assert CliRunner().invoke(cli, args).exit_code == 0
    with out.open(newline="") as handle:
        assert sorted(int(r["quality"]) for r in csv.DictReader(handle)) == [30, 50, 70]
    bad = CliRunner().invoke(cli, [*args[:-4], "--quality", "30,abc", "-o", str(out)])
    assert bad.exit_code == 2 and "not a comma-separated list of whole numbers" in bad.stderr




def _rd_rows(path):
    """An RD CSV's rows without the timing columns (they differ between runs)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in rows]




def test_anchors_refuse_to_overwrite_resume_after_a_kill_and_run_in_processes(tmp_path, rng):
    """Finding 7: anchors (and codec eval, same code) as safe as batch, with --workers and --no-ms-ssim."""
    import fpsnr.rd as rd
    import fpsnr.rd.loop as rd_loop
    from fpsnr.options import BatchOptions
    from fpsnr.rd.anchors import anchor_codecs
    from tests.conftest import write_photos

    data = write_photos(tmp_path / "data", rng, count=3, height=176, width=192)
    base = ["anchors", "--data", str(data), "--missing-regions", "center", "--codec", "jpeg,webp",
            "--quality", "30,70", "--fp", "0.5"]  # fmt: skip
    refused = CliRunner().invoke(cli, [*base[:3], "-o", str(tmp_path / "x.csv")])
    assert refused.exit_code == 2 and "give --regions, or --missing-regions center|suggest" in refused.stderr
    whole = tmp_path / "whole.csv"
    first = CliRunner().invoke(cli, [*base, "-o", str(whole), "-j", "1"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, [*base, "-o", str(whole)])
    assert again.exit_code == 1 and "exists; use --overwrite to replace it" in again.stderr
    assert CliRunner().invoke(cli, [*base, "-o", str(whole), "--overwrite", "-j", "1"]).exit_code == 0
    both = CliRunner().invoke(cli, [*base, "-o", str(whole), "--overwrite", "--resume"])
    assert both.exit_code == 2 and "--resume and --overwrite exclude each other" in both.stderr

    # killed after 5 of the 12 rows, then finished with --resume: the same table
    cut = tmp_path / "cut.csv"
    settings = {"command": "anchors", "data": str(data.absolute()), "regions": None, "regions_sha256": None,
                "points": [[c, f"q{q}"] for c in ("jpeg", "webp") for q in (30, 70)],
                "missing_regions": "center", "ms_ssim": True}  # fmt: skip
    options = BatchOptions(fps=(0.5,), missing_regions="center")

    def killed(done):
        for n, row in enumerate(rd.run_rd(data, {}, anchor_codecs(["jpeg", "webp"], {"jpeg": [30, 70],
                                           "webp": [30, 70]}), options, skip=done)):  # fmt: skip
            if n == 5:
                raise KeyboardInterrupt
            yield row

    with pytest.raises(KeyboardInterrupt):
        rd.write_rd_run(killed, cut, (0.5,), settings=settings)
    assert not cut.exists() and len(_rd_rows(cut.with_name("cut.csv.partial"))) == 5
    # Ctrl-C in the command itself says how to go on (as batch does)
    real = rd_loop.run_rd

    def interrupted(*args, **kwargs):
        yield from itertools.islice(real(*args, **kwargs), 2)
        raise KeyboardInterrupt

    stopped = tmp_path / "stopped.csv"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rd_loop, "run_rd", interrupted)
        res = CliRunner().invoke(cli, [*base, "-o", str(stopped), "-j", "1"])
    assert res.exit_code == 130
    assert f"interrupted: the rows so far are kept in {stopped}.partial; run the same command with --resume" \
        in res.stderr  # fmt: skip
    blocked = CliRunner().invoke(cli, [*base, "-o", str(cut)])
    assert blocked.exit_code == 1 and "use --resume to finish it" in blocked.stderr
    other = CliRunner().invoke(cli, [*base, "-o", str(cut), "--resume", "--no-ms-ssim"])
    assert other.exit_code == 1 and "other settings (ms_ssim)" in other.stderr
    resumed = CliRunner().invoke(cli, [*base, "-o", str(cut), "--resume", "-j", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert _rd_rows(cut) == _rd_rows(whole)

    # two processes: the same rows in the same order; --no-ms-ssim leaves that column empty
    parallel = tmp_path / "parallel.csv"
    assert CliRunner().invoke(cli, [*base, "-o", str(parallel), "-j", "2"]).exit_code == 0
    assert _rd_rows(parallel) == _rd_rows(whole)
    quick = tmp_path / "quick.csv"
    assert CliRunner().invoke(cli, [*base, "-o", str(quick), "--no-ms-ssim", "-j", "1"]).exit_code == 0
    rows = _rd_rows(quick)
    assert all(r["ms_ssim"] == "" for r in rows)
    assert [r["psnr"] for r in rows] == [r["psnr"] for r in _rd_rows(whole)]
