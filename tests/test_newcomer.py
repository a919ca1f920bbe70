"""Findings of the newcomer walk-through (../shared/usability/newcomer-2026-11.md) fixed so far."""

from __future__ import annotations

import csv
import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.images.io import write_image
from tests.conftest import three_pairs


def test_resume_with_retry_errors_rescores_the_failed_pairs_only(tmp_path, rng):
    """Finding 6: a missing test image added later stayed an error row on --resume."""
    ref, test = three_pairs(tmp_path, rng)
    write_image(ref / "d.png", np.full((40, 56, 3), 7, np.uint8))  # its test image is missing at first
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), "--missing-regions", "center", "--regions", "kodak", "-j", "1",
            "-o", str(out)]  # fmt: skip
    assert CliRunner().invoke(cli, base).exit_code == 1
    write_image(test / "d.png", np.full((40, 56, 3), 9, np.uint8))
    plain = CliRunner().invoke(cli, [*base, "--resume"])
    assert plain.exit_code == 1 and "resuming: 4 pair(s) already scored" in plain.stderr
    res = CliRunner().invoke(cli, [*base, "--resume", "--retry-errors"])
    assert res.exit_code == 0, res.output
    assert "resuming: 3 pair(s) already scored, 1 failed pair(s) scored again" in res.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and not any(r["error"] for r in rows)
    lone = CliRunner().invoke(cli, [*base[:-2], "--retry-errors", "-o", str(tmp_path / "x.csv")])
    assert lone.exit_code == 2 and "--retry-errors goes with --resume" in lone.stderr


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


def test_a_data_range_above_the_bit_depth_is_warned(tmp_path, rng):
    """Finding 18: --data-range 1023 on 8-bit files read 12 dB high without a word."""
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    write_image(tmp_path / "b.png", img // 2 * 2)
    (tmp_path / "r.json").write_text('{"width": 30, "height": 20, "regions": [{"center": [15, 10]}]}')
    args = ["score", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--regions", str(tmp_path / "r.json")]
    res = CliRunner().invoke(cli, [*args, "--data-range", "1023"])
    assert res.exit_code == 0 and "above the 8-bit range" in res.stderr and "12.07 dB high" in res.stderr
    assert "warning" not in CliRunner().invoke(cli, [*args, "--data-range", "255"]).stderr


def test_the_readme_score_folders_example_runs_as_a_script(tmp_path, rng):
    """Finding 2: the example crashed pasted into a script; with the README's guard it runs."""
    ref, test = three_pairs(tmp_path, rng)
    script = tmp_path / "example.py"
    script.write_text(
        textwrap.dedent(f"""
        import fpsnr

        if __name__ == "__main__":
            result = fpsnr.score_folders({str(ref)!r}, [{str(test)!r}], "kodak", workers=2,
                                         options=fpsnr.BatchOptions(missing_regions="center"))
            print(len(result.scores), result.scores["error"].eq("").all())
    """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["3", "True"], done.stderr


def _pair_files(tmp_path, rng):
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    write_image(tmp_path / "photo.png", img)
    write_image(tmp_path / "photo.jpg", img // 2 * 2)
    return tmp_path / "photo.png", tmp_path / "photo.jpg"


def test_score_without_regions_scores_the_centre_and_says_so(tmp_path, rng):
    """Finding 5: `fpsnr score a b` needed a regions file."""
    import fpsnr
    from fpsnr import Region

    ref, test = _pair_files(tmp_path, rng)
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--format", "json"])
    assert res.exit_code == 0 and "note: no --regions" in res.stderr
    import json

    got = json.loads(res.stdout)
    want = fpsnr.score(fpsnr.read_image(ref), fpsnr.read_image(test), [Region((29.5, 19.5), label="center")])
    assert got["m_fpsnr"] == want.m_fpsnr and got["regions"][0]["label"] == "center"
    suggest = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", "suggest"])
    assert suggest.exit_code == 0 and "note" not in suggest.stderr and "salient-1" in suggest.stdout


def test_batch_scores_without_any_regions_file(tmp_path, rng):
    """Finding 5: --missing-regions center refused an empty regions folder; now --regions may be left out."""
    ref, test = three_pairs(tmp_path, rng)
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(cli, ["batch", str(ref), str(test), "--missing-regions", "suggest", "-j", "1",
                                   "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    refused = CliRunner().invoke(cli, ["batch", str(ref), str(test), "-o", str(tmp_path / "t.csv")])
    assert refused.exit_code == 2 and "--missing-regions center|suggest" in refused.stderr


def test_a_regions_file_for_another_image_says_whose_it_is_and_how_to_reuse_it(tmp_path, rng):
    """Finding 4: 'no regions for image' did not say which image the file is for, nor the fix."""
    ref, test = _pair_files(tmp_path, rng)
    regions = tmp_path / "r.json"
    regions.write_text(
        '{"image": "kodim23.png", "width": 60, "height": 40, "regions": [{"center": [30, 20]}]}'
    )
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", str(regions)])
    assert res.exit_code == 1
    assert "holds the regions of kodim23.png, not of 'photo'" in res.stderr
    assert 'delete the file\'s "image" key or pass --regions-image kodim23' in res.stderr
    ok = CliRunner().invoke(cli, ["score", str(ref), str(test), "--regions", str(regions), "--regions-image",
                                  "kodim23"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    shown = CliRunner().invoke(cli, ["regions", "show", str(ref), str(regions), "--regions-image", "kodim23",
                                     "-o", str(tmp_path / "o.png")])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    missing = CliRunner().invoke(cli, ["score", str(tmp_path / "nope.png"), str(test),
                                       "--regions", str(regions)])  # fmt: skip
    assert missing.exit_code == 1 and "nope.png: no such file" in missing.stderr  # the real problem first


def test_score_table_numbers_line_up(tmp_path, rng):
    """Finding 20: the M-FPSNR rows started one column left of the others."""
    ref, test = _pair_files(tmp_path, rng)
    res = CliRunner().invoke(cli, ["score", str(ref), str(test), "--fp", "0,0.25,0.5"])
    names = ("PSNR", "mean", "periphery", "M-FPSNR")
    rows = [line for line in res.stdout.splitlines() if " dB" in line and line.split()[0] in names]
    assert len(rows) == 6  # PSNR, mean F_PSNR, periphery PSNR, three M-FPSNR
    assert len({line.index(" dB") for line in rows}) == 1


RD_ANCHORS = """codec,rate_point,quality,image,bpp,psnr,mean_fpsnr,m_fpsnr_fp0,error
jpeg,q10,10,a.png,0.3,25.0,24.0,24.0,
jpeg,q50,50,a.png,1.0,33.0,32.0,32.0,
jpeg,q90,90,a.png,3.0,40.0,39.0,39.0,
jpeg,q95,95,a.png,4.0,42.0,41.0,41.0,
"""
RD_LEARNED = """codec,rate_point,quality,image,bpp,psnr,mean_fpsnr,m_fpsnr_fp0,error
bmshj2018-hyperprior,0.0035,0.0035,a.png,0.25,27.0,26.0,26.0,
bmshj2018-hyperprior,0.013,0.013,a.png,0.5,31.0,30.0,30.0,
bmshj2018-hyperprior,0.025,0.025,a.png,0.8,33.5,32.5,32.5,
bmshj2018-hyperprior,0.0483,0.0483,a.png,1.2,35.5,34.5,34.5,
"""


def test_rd_commands_merge_several_csvs_and_the_ratio_table_reads_well(tmp_path):
    """Findings 8, 21, 22: one CSV only; bdrate header; `plot ratio` printed, lacked bpp and the codecs."""
    anchors, learned = tmp_path / "anchors.csv", tmp_path / "learned.csv"
    anchors.write_text(RD_ANCHORS)
    learned.write_text(RD_LEARNED)
    runner = CliRunner()
    res = runner.invoke(cli, ["bdrate", str(anchors), str(learned), "--anchor", "jpeg",
                              "--test", "bmshj2018-hyperprior", "--metric", "psnr",
                              "--metric", "mean_fpsnr"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "mean F_PSNR" in res.stdout.splitlines()[0]
    table = runner.invoke(cli, ["ratio", str(anchors), str(learned),
                                "--codec", "bmshj2018-hyperprior", "--fp", "0"])  # fmt: skip
    assert table.stdout.splitlines()[0].startswith("| rate point | bpp |")
    assert table.stdout.splitlines()[2].startswith("| 0.0035 | 0.2500 |")
    bad = runner.invoke(cli, ["ratio", str(anchors), "--codec", "jpeg,webp"])
    assert bad.exit_code == 1 and "the RD rows have: jpeg" in bad.stderr
    # it prints a table, so it is no longer a plot subcommand; the old name still works
    old = runner.invoke(cli, ["plot", "ratio", str(anchors), str(learned),
                              "--codec", "bmshj2018-hyperprior", "--fp", "0"])  # fmt: skip
    assert old.exit_code == 0 and old.stdout == table.stdout
    assert "'fpsnr plot ratio' is now 'fpsnr ratio'" in old.stderr
    assert "ratio" not in runner.invoke(cli, ["plot", "--help"]).stdout
    twice = runner.invoke(cli, ["bdrate", str(anchors), str(anchors), "--anchor", "jpeg", "--test", "jpeg"])
    assert twice.exit_code == 1 and "is also in" in twice.stderr


def test_every_list_option_takes_a_comma_list_as_well_as_repeats(tmp_path):
    """Finding 23: comma lists wherever a list is; some options only took repeats."""
    import io

    import pandas as pd

    anchors, learned = tmp_path / "anchors.csv", tmp_path / "learned.csv"
    rows = {"anchors": pd.read_csv(io.StringIO(RD_ANCHORS)), "learned": pd.read_csv(io.StringIO(RD_LEARNED))}
    rows["learned"] = pd.concat([rows["learned"].assign(codec=c) for c in ("a", "b")])
    for name, path in (("anchors", anchors), ("learned", learned)):
        rows[name].assign(periphery_psnr=rows[name]["psnr"] - 1).to_csv(path, index=False)
    runner = CliRunner()
    base = ["bdrate", str(anchors), str(learned), "--anchor", "jpeg"]
    repeated = runner.invoke(cli, [*base, "--test", "a", "--test", "b", "--metric", "psnr",
                                   "--metric", "periphery_psnr"])  # fmt: skip
    commas = runner.invoke(cli, [*base, "--test", "a,b", "--metric", "psnr,periphery_psnr"])
    assert repeated.exit_code == 0, repeated.output
    assert commas.stdout == repeated.stdout and len(commas.stdout.splitlines()) == 3
    assert "periphery PSNR" in commas.stdout.splitlines()[0]  # finding 20: one name per quantity
    bad = runner.invoke(cli, [*base, "--test", "a", "--metric", "psnr,nope"])
    assert bad.exit_code == 2 and "unknown metric 'nope'; choose from psnr, mean_fpsnr" in bad.stderr
    for codecs in (["--codec", "a,b"], ["--codec", "a", "--codec", "b"]):
        folder = tmp_path / "-".join(codecs)
        done = runner.invoke(cli, ["rd", "export", str(learned), "--compressai-json", str(folder), *codecs])
        assert done.exit_code == 0, done.output
        assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json"]
    model = runner.invoke(cli, ["codec", "eval", "--data", str(tmp_path), "--model",
                                "bmshj2018-hyperprior,nope", "-o", str(tmp_path / "e.csv")])  # fmt: skip
    assert model.exit_code == 2 and "unknown model 'nope'" in model.stderr


def test_plot_rd_filters_codecs_and_zooms_on_the_learned_rates(tmp_path, monkeypatch):
    """Finding 9: with anchors up to 4 bpp the learned curves were unreadable."""
    import matplotlib.figure

    anchors, learned = tmp_path / "anchors.csv", tmp_path / "learned.csv"
    anchors.write_text(RD_ANCHORS)
    learned.write_text(RD_LEARNED)
    seen = {}
    real = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        ax = fig.axes[0]
        seen.update(
            xlim=ax.get_xlim(),
            labels=[t.get_text() for t in ax.get_legend().get_texts()],
            styles={line.get_label(): (line.get_marker(), str(line.get_linestyle())) for line in ax.lines},
        )
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    out = tmp_path / "rd.png"
    assert CliRunner().invoke(cli, ["plot", "rd", str(anchors), str(learned), "-o", str(out)]).exit_code == 0
    assert seen["xlim"][1] < 2.0  # the learned range (0.25–1.2 bpp), not the anchors' 4 bpp
    assert len(set(seen["styles"].values())) == 2  # each codec its own marker and line
    res = CliRunner().invoke(cli, ["plot", "rd", str(anchors), str(learned), "--codec", "jpeg",
                                   "--xlim", "0", "5", "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0 and seen["labels"] == ["jpeg"] and seen["xlim"] == (0.0, 5.0)


def test_suggestions_keep_a_radius_from_the_border():
    """Finding 15: 29 of 114 Kodak suggestions sat within 40 px of the border, on blurred background."""
    import fpsnr
    from fpsnr.regions.saliency import suggest_regions

    yy, xx = np.mgrid[0:240, 0:360]
    img = np.full((240, 360), 90.0)
    img[(xx - 8) ** 2 + (yy - 120) ** 2 < 30**2] = 250  # a bright blob cut by the left border
    img[(xx - 200) ** 2 + (yy - 110) ** 2 < 12**2] = 10  # and one well inside
    radius = fpsnr.regions.default_radius(360, 240)
    for region in suggest_regions(img.astype(np.uint8)).regions:
        x, y = region.center
        assert min(x, y, 359 - x, 239 - y) >= radius - 1e-9
    tiny = suggest_regions(np.arange(400, dtype=np.uint8).reshape(20, 20) % 7 * 30)  # no room for the margin
    assert tiny.regions  # falls back to the faded map, still proposes


def _jpeg_with_orientation(pixels, orientation, path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())


def test_exif_orientation_matches_pillow_for_all_eight(tmp_path, rng):
    """Finding 14: EXIF orientation was never applied; `orient` is checked against Pillow's exif_transpose."""
    from PIL import Image, ImageOps

    from fpsnr.images.io import read_image

    pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}.jpg"
        _jpeg_with_orientation(pixels, orientation, path)
        want = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        got = read_image(path, exif=True)
        assert got.shape == want.shape, orientation
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, orientation  # same JPEG decode
        assert read_image(path).shape == (12, 20, 3)  # as stored without --exif apply


def test_a_turned_pair_mentions_exif_and_exif_apply_scores_it(tmp_path, rng):
    """Finding 14: a phone photo's test image stored turned failed with a bare shape error."""
    yy, xx = np.mgrid[0:40, 0:60]
    upright = np.stack([xx * 4, yy * 6, (xx + yy) * 2], 2).astype(np.uint8)  # smooth: JPEG keeps it
    write_image(tmp_path / "ref.png", upright)
    stored = np.rot90(upright, 1)  # stored turned; orientation 6 says: turn 90° clockwise to view
    _jpeg_with_orientation(np.ascontiguousarray(stored), 6, tmp_path / "test.jpg")
    args = ["score", str(tmp_path / "ref.png"), str(tmp_path / "test.jpg"), "--format", "json"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "turned by 90°" in res.stderr and "--exif apply" in res.stderr
    ok = CliRunner().invoke(cli, [*args, "--exif", "apply"])
    assert ok.exit_code == 0, ok.output
    import json

    assert json.loads(ok.stdout)["psnr"] > 35  # the same picture once upright (JPEG q95)


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
    settings = {"command": "anchors", "data": str(data), "regions": "",
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


def test_an_unreachable_scheduler_leaves_nothing_behind(tmp_path, rng, monkeypatch):
    """Finding 16: the failed --scheduler run left .partial files that blocked the next run."""
    pytest.importorskip("distributed")
    import socket

    import fpsnr.runs.parallel

    monkeypatch.setattr(fpsnr.runs.parallel, "CONNECT_TIMEOUT", "1s")
    ref, test = three_pairs(tmp_path, rng)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "s.csv"
    base = ["batch", str(ref), str(test), "--missing-regions", "center", "-o", str(out)]
    failed = CliRunner().invoke(cli, [*base, "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert failed.exit_code == 1 and "cannot reach the Dask scheduler" in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref", "test"]  # no .partial, .settings, .lock
    again = CliRunner().invoke(cli, base)
    assert again.exit_code == 0 and "wrote" in again.stderr


def test_nothing_to_do_draws_no_progress_bar():
    """Finding 27: a resumed batch with every pair scored drew 'scoring: 0pair' twice."""
    import io

    from fpsnr.runs.progress import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream in (Terminal(), io.StringIO()):
        with ProgressBar("scoring", "pair", stream=stream) as bar:
            bar(0, 0)
        assert stream.getvalue() == ""
    drawn = Terminal()
    with ProgressBar("scoring", "pair", stream=drawn) as bar:
        bar(0, 2)
        bar(2, 2)
    assert "2/2" in drawn.getvalue()


def test_a_resumed_run_stopped_before_its_first_new_row_keeps_the_carried_rows(tmp_path):
    """The partial file is removed on a refusal only when it holds no rows at all (CsvSink.abandon)."""
    from fpsnr.runs.sink import CsvSink

    out = tmp_path / "s.csv"
    for carried, kept in (([], False), ([{"a": "1", "b": "x"}], True)):
        sink = CsvSink(out, ["a", "b"], None, {"k": 1})
        sink.prepare(resume=False, overwrite=True)
        sink.start(carried)
        sink.abandon()
        assert sink.partial.exists() is kept
    with open(out.with_name("s.csv.partial"), newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"a": "1", "b": "x"}]


def test_regions_suggest_with_exif_apply_proposes_in_upright_coordinates(tmp_path):
    """Finding 14: `regions suggest` drew a sideways overlay, its centres in the stored orientation."""
    import json

    from fpsnr.images.io import read_image
    from fpsnr.regions.saliency import suggest_regions

    yy, xx = np.mgrid[0:120, 0:200]
    upright = np.full((120, 200, 3), 128, np.uint8)
    upright[(yy - 40) ** 2 + (xx - 150) ** 2 < 100] = 250  # one bright spot, up and to the right
    _jpeg_with_orientation(np.ascontiguousarray(np.rot90(upright, 1)), 6, tmp_path / "phone.jpg")
    centres = {}
    for mode in ("keep", "apply"):
        out = tmp_path / f"{mode}.json"
        res = CliRunner().invoke(cli, ["regions", "suggest", str(tmp_path / "phone.jpg"), "-o", str(out),
                                       "--max", "1", "--exif", mode])  # fmt: skip
        assert res.exit_code == 0, res.output
        centres[mode] = json.loads(out.read_text())["regions"][0]["center"]
    want = suggest_regions(read_image(tmp_path / "phone.jpg", exif=True), max_regions=1).regions[0].center
    assert centres["apply"] == list(want)
    assert abs(centres["apply"][0] - 150) <= 8 and abs(centres["apply"][1] - 40) <= 8  # as a viewer sees it
    assert abs(centres["keep"][0] - 40) <= 8 and abs(centres["keep"][1] - 50) <= 8  # the stored, turned spot
