"""``fpsnr anchors``, ``fpsnr bdrate`` and ``fpsnr plot`` end to end."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import fpsnr
from fpsnr.cli import cli
from tests.conftest import (
    one_line_error,
    write_photos,
)


@pytest.fixture
def data(tmp_path, rng):
    return write_photos(tmp_path / "data", rng, count=2, height=176, width=192)


def test_anchors_bdrate_and_plots(runner, data, tmp_path):
    rd = tmp_path / "rd.csv"
    args = ["anchors", "--data", str(data), "--regions", str(data), "--missing-regions", "center",
            "--codec", "jpeg,webp", "--fp", "0,0.5", "-o", str(rd)]  # fmt: skip
    for q in (10, 30, 50, 70, 90):
        args += ["--quality", str(q)]
    res = runner.invoke(cli, args)
    # --regions points at a folder without JSON files: a clear error
    assert res.exit_code == 1 and "holds no .json regions files" in res.stderr
    (data / "0.json").write_text('{"width": 192, "height": 176, "regions": [{"center": [60, 50]}]}')
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = runner.invoke(cli, ["bdrate", str(rd), "--anchor", "jpeg", "--test", "webp", "--metric", "psnr",
                              "--metric", "mean_fpsnr", "--metric", "m_fpsnr"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "M-FPSNR (Fp=0.5)" in out.stdout and "%" in out.stdout.splitlines()[1]
    png = tmp_path / "rd.png"
    assert runner.invoke(cli, ["plot", "rd", str(rd), "--metric", "m_fpsnr", "-o", str(png)]).exit_code == 0
    assert png.stat().st_size > 1000
    table = runner.invoke(cli, ["ratio", str(rd), "--codec", "jpeg", "--fp", "0,0.5"])
    assert table.exit_code == 0 and table.stdout.count("\n") == 7  # header, rule, 5 rate points


def test_bdrate_errors_exit_1(runner, tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    res = runner.invoke(cli, ["bdrate", str(bad), "--anchor", "a", "--test", "b"])
    assert res.exit_code == 1 and "not an fpsnr RD file" in res.stderr
    res = runner.invoke(cli, ["bdrate", str(tmp_path / "missing.csv"), "--anchor", "a", "--test", "b"])
    assert res.exit_code == 1 and "no such RD file" in res.stderr




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
    gone = runner.invoke(cli, ["plot", "ratio", str(anchors), "--codec", "jpeg"])
    assert gone.exit_code == 2 and "No such command 'ratio'" in gone.stderr  # moved: no alias left behind
    assert "ratio" not in runner.invoke(cli, ["plot", "--help"]).stdout
    twice = runner.invoke(cli, ["bdrate", str(anchors), str(anchors), "--anchor", "jpeg", "--test", "jpeg"])
    assert twice.exit_code == 1 and "is also in" in twice.stderr




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
                                   "--xlim", "0", "5", "-o", str(out), "--overwrite"])  # fmt: skip
    assert res.exit_code == 0 and seen["labels"] == ["jpeg"] and seen["xlim"] == (0.0, 5.0)




def test_a_figure_format_matplotlib_cannot_write_is_refused_first(tmp_path):
    path = tmp_path / "rd.csv"
    path.write_text("codec,rate_point,image,bpp,psnr,error\nj,1,a.png,0.4,29,\nj,2,a.png,0.6,31,\n")
    line = one_line_error(CliRunner().invoke(cli, ["plot", "rd", str(path), "-o", str(tmp_path / "p.xyz")]))
    assert "cannot write a figure as 'xyz'" in line and "png" in line


def _two_image_sets(tmp_path):
    """JPEG on images a, b (from data/), the learned codec on a only (from another folder)."""
    anchors = ["codec,rate_point,quality,image,bpp,psnr,mean_fpsnr,m_fpsnr_fp0,error"]
    for q, bpp, psnr in (("q10", 0.3, 25.0), ("q50", 1.0, 33.0), ("q90", 3.0, 40.0), ("q95", 4.0, 42.0)):
        anchors.append(f"jpeg,{q},{q[1:]},data/a.png,{bpp},{psnr},{psnr - 1},{psnr - 1},")
        # b is harder: 2 dB lower at twice the rate; only the anchor has it
        anchors.append(f"jpeg,{q},{q[1:]},data/b.png,{2 * bpp},{psnr - 2},{psnr - 3},{psnr - 3},")
    learned = RD_LEARNED.replace(",a.png,", ",other/folder/a.png,")
    (tmp_path / "anchors.csv").write_text("\n".join(anchors) + "\n")
    (tmp_path / "learned.csv").write_text(learned)
    return tmp_path / "anchors.csv", tmp_path / "learned.csv"


def test_curves_over_different_images_are_compared_on_the_common_ones_and_said(tmp_path, monkeypatch):
    """Newcomer 2026-12 finding 4: bdrate compared a 24-image anchor with a 4-image
    learned curve in silence (−12.16 % against −23.73 % on matched images), and plot rd
    titled it "28 images" (paths of one picture in two folders counted twice)."""
    import matplotlib.figure
    import pandas as pd

    from fpsnr.rd.bdrate import bd_rate
    from fpsnr.rd.rdfile import read_rd_csvs

    anchors, learned = _two_image_sets(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["bdrate", str(anchors), str(learned), "--anchor", "jpeg",
                              "--test", "bmshj2018-hyperprior"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stderr == (
        "note: the curves cover different images; comparing on the 1 image(s) every curve covers "
        "(matched by file name), leaving out jpeg 1\n"
    )
    only_a = pd.concat([pd.read_csv(f, keep_default_na=False) for f in (anchors, learned)])
    only_a = only_a[only_a["image"].str.endswith("a.png")]
    want = bd_rate(only_a, "jpeg", "bmshj2018-hyperprior").bd_rate
    assert res.stdout.splitlines()[1].split()[-1] == f"{want:+.2f}%"
    with pytest.raises(fpsnr.ParameterError, match="cover different images"):
        bd_rate(read_rd_csvs([anchors, learned]), "jpeg", "bmshj2018-hyperprior")  # the library refuses
    titles = []
    real = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        titles.append(fig.axes[0].get_title())
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    out = tmp_path / "rd.png"
    plotted = runner.invoke(cli, ["plot", "rd", str(anchors), str(learned), "-o", str(out)])
    assert plotted.exit_code == 0 and "comparing on the 1 image(s)" in plotted.stderr
    assert titles == ["PSNR against rate, mean over 1 image"]


def test_each_codec_keeps_its_colour_and_marker_in_every_figure(tmp_path, monkeypatch):
    """Newcomer 2026-12 finding 14: styles were dealt out afresh per figure."""
    import matplotlib.figure

    anchors, learned = tmp_path / "anchors.csv", tmp_path / "learned.csv"
    anchors.write_text(RD_ANCHORS)
    learned.write_text(RD_LEARNED)
    seen: list[dict[str, tuple[str, str]]] = []
    real = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        seen.append({line.get_label(): (line.get_color(), line.get_marker()) for line in fig.axes[0].lines})
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    out = tmp_path / "rd.png"
    for args in ([str(anchors), str(learned)], [str(anchors)], [str(learned)]):
        assert CliRunner().invoke(cli, ["plot", "rd", *args, "-o", str(out), "--overwrite"]).exit_code == 0
    assert seen[0]["jpeg"] == seen[1]["jpeg"]
    assert seen[0]["bmshj2018-hyperprior"] == seen[2]["bmshj2018-hyperprior"]
    assert seen[0]["jpeg"] != seen[0]["bmshj2018-hyperprior"]


def test_bdrate_writes_csv_and_json_with_the_numbers_of_the_table(tmp_path):
    """Newcomer 2026-12 nice-to-have: BD-rates as data, not only as a table."""
    import csv
    import io
    import json

    from fpsnr.rd.bdrate import bd_rate
    from fpsnr.rd.rdfile import read_rd_csvs

    anchors, learned = tmp_path / "anchors.csv", tmp_path / "learned.csv"
    anchors.write_text(RD_ANCHORS)
    learned.write_text(RD_LEARNED)
    base = ["bdrate", str(anchors), str(learned), "--anchor", "jpeg", "--test", "bmshj2018-hyperprior",
            "--metric", "psnr,mean_fpsnr"]  # fmt: skip
    want = [bd_rate(read_rd_csvs([anchors, learned]), "jpeg", "bmshj2018-hyperprior", metric=m).bd_rate
            for m in ("psnr", "mean_fpsnr")]  # fmt: skip
    records = json.loads(CliRunner().invoke(cli, [*base, "--format", "json"]).stdout)
    assert [r["bd_rate_percent"] for r in records] == want and records[1]["metric"] == "mean_fpsnr"
    rows = list(csv.DictReader(io.StringIO(CliRunner().invoke(cli, [*base, "--format", "csv"]).stdout)))
    assert [float(r["bd_rate_percent"]) for r in rows] == want and rows[0]["test_points"] == "4"
