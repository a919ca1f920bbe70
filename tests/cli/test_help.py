"""Every command's --help shows one example, and data goes to stdout only when a command succeeds."""

from __future__ import annotations

import click
from click.testing import CliRunner

from fpsnr.cli import cli
from tests.cli.test_rd_cli import RD_ANCHORS, RD_LEARNED


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_has_an_example_line(runner):
    commands = _commands(cli)
    assert len(commands) >= 20
    for path in commands:
        res = runner.invoke(cli, [*path, "--help"])
        assert res.exit_code == 0, path
        lines = res.stdout.splitlines()
        at = lines.index("  Example:")
        assert lines[at + 1].strip().startswith("fpsnr "), (path, lines[at + 1])


def test_every_option_has_a_help_line():
    """Newcomer finding 24: some --help pages were thin (options without a word)."""
    bare = []
    for path in _commands(cli):
        command = cli
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        bare += [(path, p.opts[0]) for p in command.params if isinstance(p, click.Option) and not p.help]
    assert bare == []


def _commands_section(runner, path):
    res = runner.invoke(cli, [*path, "--help"], terminal_width=80)
    assert res.exit_code == 0, path
    lines = res.stdout.splitlines()
    return lines[lines.index("Commands:") + 1 :]


def test_commands_are_listed_in_the_order_a_user_meets_them():
    """Newcomer finding 24: alphabetical order put the main command, score, last."""
    assert list(cli.list_commands(click.Context(cli))) == [
        "demo", "score", "batch", "video", "regions", "codec", "anchors", "bdrate", "ratio", "plot", "rd",
    ]  # fmt: skip
    codec = cli.commands["codec"]
    assert isinstance(codec, click.Group)
    assert codec.list_commands(click.Context(codec))[:3] == ["models", "encode", "decode"]


def test_command_summaries_are_whole_sentences_not_cut_to_dots(runner):
    """Newcomer finding 24: at 80 columns click cut most summaries to '...'."""
    groups = [path for path in _commands(cli) if isinstance(_command(path), click.Group)]
    assert len(groups) == 7
    for path in groups:
        section = _commands_section(runner, path)
        text = " ".join(" ".join(section).split())
        for name, command in _command(path).commands.items():
            if command.hidden:  # an old name kept working
                assert name not in text.split()
                continue
            first = " ".join((command.help or "").split("\n\n")[0].split())
            first = first[: first.index(". ") + 1] if ". " in first else first
            assert f"{name} {first}" in text, (path, name)
        assert "..." not in text and max(map(len, section)) <= 80


def _command(path):
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def test_version(runner):
    res = runner.invoke(cli, ["--version"])
    assert res.exit_code == 0 and res.stdout.startswith("fpsnr, version ")


def test_a_failing_bdrate_prints_no_table(runner, tmp_path):
    rd = tmp_path / "rd.csv"
    rd.write_text("codec,rate_point,image,bpp,psnr,error\n" + "".join(
        f"a,p{k},x.png,{0.1 * (k + 1)},{30 + k},\nb,p{k},x.png,{0.1 * (k + 1)},{30 + k},\n" for k in range(3)
    ))  # fmt: skip
    res = runner.invoke(cli, ["bdrate", str(rd), "--anchor", "a", "--test", "b"])
    assert res.exit_code == 1 and "at least 4" in res.stderr
    assert res.stdout == ""  # no header before the failure


def test_progress_in_a_log_is_a_few_lines_not_bar_redraws():
    import io

    from fpsnr.runs.progress import ProgressBar

    log = io.StringIO()
    with ProgressBar("scoring", "pair", stream=log) as bar:
        for done in range(1001):
            bar(done, 1000)
    lines = log.getvalue().splitlines()
    assert 10 <= len(lines) <= 12 and "\r" not in log.getvalue()
    assert lines[-1].startswith("scoring: 1000/1000 pairs (100 %)")




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




def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command




def test_no_path_argument_leaves_readability_to_click():
    """F30: click's readability check made an unreadable file exit 2 with a usage block."""
    import click

    checked = [(name, p.name) for name, command in _all_commands(cli) for p in command.params
               if isinstance(p.type, click.Path) and (p.type.readable or p.type.exists)]  # fmt: skip
    assert checked == []


def test_quiet_leaves_only_warnings_and_errors_on_stderr(tmp_path):
    """Newcomer 2026-12 nice-to-have: a --quiet flag."""
    import numpy as np

    from fpsnr.images.io import write_image

    img = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for folder in ("ref", "test"):
        (tmp_path / folder).mkdir()
    write_image(tmp_path / "ref" / "a.png", img)
    write_image(tmp_path / "test" / "a.png", 255 - img)
    runner = CliRunner()
    score = ["score", str(tmp_path / "ref" / "a.png"), str(tmp_path / "test" / "a.png")]
    loud = runner.invoke(cli, score)
    assert loud.exit_code == 0 and loud.stderr.startswith("note: no --regions")
    quiet = runner.invoke(cli, ["--quiet", *score])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    batch = ["batch", str(tmp_path / "ref"), str(tmp_path / "test"), "--missing-regions", "center"]
    done = runner.invoke(cli, ["-q", *batch, "-o", str(tmp_path / "s.csv"), "-j", "1"])
    assert done.exit_code == 0 and done.stderr == ""
    failed = runner.invoke(cli, ["-q", "score", str(tmp_path / "nope.png"), str(tmp_path / "test" / "a.png")])
    assert failed.exit_code == 1 and failed.stderr.startswith("Error: ")
    assert runner.invoke(cli, score).stderr.startswith("note:")  # the next command is not quiet
