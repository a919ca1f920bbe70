"""fpsnr.errors: typed errors whose messages name remedies, worded by the library or the command line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import fpsnr
from fpsnr.cli import cli
from fpsnr.cli.options import FLAGS
from fpsnr.errors import REMEDIES, FpsnrError, OutputError, say, template, worded

PACKAGE = Path(__file__).resolve().parents[1] / "fpsnr"


def test_a_remedy_is_the_library_s_parameter_in_python_and_the_flag_on_the_command_line():
    err = OutputError("out.csv exists; use {overwrite} to replace it, or {another_out}")
    assert str(err) == "out.csv exists; use overwrite=True to replace it, or another output"
    assert err.say(FLAGS) == "out.csv exists; use --overwrite to replace it, or another --out"
    assert template(err) == "out.csv exists; use {overwrite} to replace it, or {another_out}"
    assert isinstance(err, OSError) and isinstance(err, FpsnrError)


def test_braces_that_are_not_remedies_stay_as_they_are():
    assert say('{"width": 1} {resume} {not_a_remedy}', FLAGS) == '{"width": 1} --resume {not_a_remedy}'
    row = {"ref": "a.png", "error": "no regions; use {missing_regions}"}
    assert worded(row, FLAGS)["error"] == "no regions; use --missing-regions center|suggest"
    assert worded({"error": ""}, FLAGS) == {"error": ""}


def test_every_remedy_has_its_flag():
    assert set(FLAGS) == set(REMEDIES)


def _strings_outside_docstrings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are not docstrings (a bare string statement documents what is above)."""
    bare = (n for n in ast.walk(tree) if isinstance(n, ast.Expr))
    docs = {id(n.value) for n in bare if isinstance(n.value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]  # fmt: skip


def test_no_library_message_names_a_flag():
    """The library speaks of causes and remedies; only fpsnr/cli/ may say --resume."""
    flag = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for line, text in _strings_outside_docstrings(ast.parse(path.read_text())):
            if flag.search(text):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {text.strip()[:60]}")
    assert found == []


def test_the_same_refusal_reads_as_a_parameter_from_python_and_as_a_flag_from_the_command(tmp_path, rng):
    ref = (rng.integers(0, 256, (20, 30, 3)) / 255).astype("float32")
    fpsnr.images.io.write_image(tmp_path / "a.tif", ref)
    with pytest.raises(fpsnr.ImageError, match=r"pass data_range, e\.g\. 1\.0 or 255"):
        fpsnr.score(ref, ref, [fpsnr.Region((10, 10), 5)])
    res = CliRunner().invoke(cli, ["score", str(tmp_path / "a.tif"), str(tmp_path / "a.tif")])
    assert res.exit_code == 1 and "pass --data-range, e.g. 1.0 or 255" in res.stderr


def test_a_report_names_its_remedy_in_the_words_asked_for():
    from fpsnr.cli.options import FLAGS
    from fpsnr.formatting import format_roundtrip
    from fpsnr.results import RoundtripResult

    result = RoundtripResult(image="a.png", model="m", weights="w", lmbda=0.01, width=4, height=4, bytes=10,
                             payload_bytes=8, bpp_payload=4.0, bpp_file=5.0, encode_seconds=0.1,
                             decode_seconds=0.1, psnr=30.0,
                             scores=())  # fmt: skip
    assert "(no regions: F_PSNR" in format_roundtrip(result)
    assert "(no --regions: F_PSNR" in format_roundtrip(result, words=FLAGS)


def _api_calls(folder):
    import numpy as np

    ref = np.zeros((20, 30, 3), np.uint8)
    regions = [fpsnr.Region((10, 10), 5)]
    ref_dir, test_dir = folder / "ref", folder / "test"
    return {
        "regions": lambda: fpsnr.score(ref, ref, None),
        "max_db": lambda: fpsnr.score(ref, ref, regions, max_db="50"),
        "data_range": lambda: fpsnr.score(ref, ref, regions, data_range="255"),
        "viewing_distance": lambda: fpsnr.score(ref, ref, regions, viewing_distance=None),
        "fps": lambda: fpsnr.ScoreOptions(fps=0.5),
        "path": lambda: fpsnr.load_regions(None),
        "path ": lambda: fpsnr.read_image(123),
        "ref_dir": lambda: fpsnr.score_folders(None, test_dir, None),
        "regions ": lambda: fpsnr.score_folders(ref_dir, test_dir, 123),
        "workers": lambda: fpsnr.score_folders(ref_dir, test_dir, None, workers="2"),
        "progress": lambda: fpsnr.score_folders(ref_dir, test_dir, None, progress="yes"),
        "test_dirs": lambda: fpsnr.score_folders(ref_dir, [], None),
        "labels": lambda: fpsnr.score_folders(ref_dir, [test_dir], None, labels=[None], workers=1),
    }


@pytest.mark.parametrize("name", list(_api_calls(Path("."))))
def test_a_wrong_type_at_the_api_is_one_error_naming_its_parameter(tmp_path, name):
    """G24: each was a bare TypeError or AttributeError from deep inside, naming nothing."""
    with pytest.raises(fpsnr.FpsnrError) as caught:
        _api_calls(tmp_path)[name]()
    assert str(caught.value).startswith(name.strip()) and "\n" not in str(caught.value)


def test_score_folders_takes_plain_score_options(tmp_path, rng):
    """G24: ScoreOptions made every row 'unexpected AttributeError' (no missing_regions)."""
    from tests.conftest import three_pairs

    ref, test = three_pairs(tmp_path, rng)
    regions = fpsnr.Regions(regions=(fpsnr.Region((20, 20), 8),), width=56, height=40)
    index = {p.stem: regions for p in ref.iterdir()}
    plain = fpsnr.score_folders(ref, test, index, options=fpsnr.ScoreOptions(fps=(0.25,)), workers=1)
    batch = fpsnr.score_folders(ref, test, index, options=fpsnr.BatchOptions(fps=(0.25,)), workers=1)
    assert (plain.scores["error"] == "").all() and plain.scores.equals(batch.scores)
