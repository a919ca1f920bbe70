"""fpsnr.runs.batch: scoring folders into rows (score_folders)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import fpsnr
from fpsnr.images.io import find_images, write_image
from fpsnr.options import BatchOptions
from fpsnr.runs.batch import run_pair
from fpsnr.runs.pairing import PairTask, plan_pairs
from tests.conftest import three_pairs


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




def _image(rng, h=48, w=64):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 3, yy * 4, xx + yy], axis=2) + rng.integers(0, 40, (h, w, 3))
    return np.clip(base, 0, 255).astype(np.uint8)




@pytest.fixture
def tree(tmp_path, rng):
    """ref/{a,b,sub/c}.png, test/ with JPEG and PNG copies, a regions folder."""
    ref, test, regions = tmp_path / "ref", tmp_path / "test", tmp_path / "regions"
    for d in (ref, test, ref / "sub", test / "sub", regions):
        d.mkdir(parents=True, exist_ok=True)
    for name in ("a", "b", "sub/c"):
        img = _image(rng)
        write_image(ref / f"{name}.png", img)
        noisy = np.clip(img.astype(int) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
        write_image(test / f"{name}.png" if name == "a" else test / f"{name}.jpg", noisy)
        doc = {
            "width": 64,
            "height": 48,
            "regions": [{"center": [20, 20], "radius": 10}, {"center": [45.5, 30]}],
        }
        (regions / f"{Path_name(name)}.json").write_text(json.dumps(doc))
    (ref / "notes.txt").write_text("not an image")
    return ref, test, regions




def Path_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]




def test_find_images_is_recursive_and_keys_by_relative_stem(tree):
    ref, _, _ = tree
    found = find_images(ref)
    assert sorted(found) == ["a", "b", "sub/c"]




def test_pairs_by_relative_path_and_stem_never_by_order(tree, rng):
    ref, test, regions = tree
    result = fpsnr.score_folders(ref, test, regions, workers=1)
    assert list(result.scores["ref"]) == [str(ref / "a.png"), str(ref / "b.png"), str(ref / "sub" / "c.png")]
    assert list(result.scores["test"]) == [
        str(test / "a.png"),
        str(test / "b.jpg"),
        str(test / "sub" / "c.jpg"),
    ]
    for row in result.scores.itertuples():
        want = fpsnr.score(
            fpsnr.read_image(row.ref),
            fpsnr.read_image(row.test),
            fpsnr.load_region_index(regions)[row.ref.rsplit("/", 1)[-1][:-4]],
        )
        assert row.m_fpsnr == want.m_fpsnr  # bit-identical to fpsnr.score
    assert result.failed == 0 and result.warnings == ()




def test_problems_become_error_rows_and_the_run_goes_on(tree, rng):
    ref, test, regions = tree
    (test / "b.jpg").unlink()  # missing
    write_image(test / "sub" / "c.png", _image(rng))  # ambiguous with c.jpg
    write_image(ref / "d.png", _image(rng))
    write_image(test / "d.png", _image(rng, 40, 64))  # shape mismatch
    write_image(ref / "e.png", _image(rng))
    (test / "e.png").write_bytes(b"\x89PNG broken")  # corrupt
    write_image(test / "orphan.png", _image(rng))  # no reference
    (regions / "d.json").write_text((regions / "a.json").read_text())
    (regions / "e.json").write_text((regions / "a.json").read_text())
    result = fpsnr.score_folders(ref, test, regions, workers=1)
    errors = dict(zip(result.scores["ref"].str.rsplit("/", n=1).str[-1], result.scores["error"], strict=True))
    assert errors["a.png"] == ""
    assert "no test image b.*" in errors["b.png"]
    assert "several test images match sub/c: c.jpg, c.png" in errors["c.png"]
    assert "test image is 64×40 pixels; the reference is 64×48" in errors["d.png"]
    assert "cannot decode" in errors["e.png"]
    assert result.failed == 4
    assert any("orphan.png: no reference image" in w for w in result.warnings)




def test_missing_regions_policy(tree):
    ref, test, regions = tree
    (regions / "b.json").unlink()
    strict = fpsnr.score_folders(ref, test, regions, workers=1)
    said = "no regions for b; add b.json or use missing_regions='center' or 'suggest'"
    assert said in strict.scores["error"][1]
    lenient = fpsnr.score_folders(
        ref, test, regions, workers=1, options=BatchOptions(missing_regions="center")
    )
    row = lenient.scores.iloc[1]
    assert row["error"] == "" and row["n_regions"] == 1
    centre = lenient.regions[lenient.regions["ref"] == row["ref"]].iloc[0]
    assert (centre["cx"], centre["cy"], centre["region_label"]) == (31.5, 23.5, "center")




def test_scores_read_in_the_decoders_channel_order_equal_scores_of_the_rgb_images(tree):
    """Batch skips BGR → RGB where the order cannot matter; luma and proposals still see RGB."""
    ref, test, regions = tree
    (regions / "b.json").unlink()  # b: the missing-regions policy decides its discs
    for channel in ("rgb", "y"):
        for policy in ("center", "suggest"):
            options = BatchOptions(channel=channel, missing_regions=policy, fps=(0.0, 0.5))
            result = fpsnr.score_folders(ref, test, regions, workers=1, options=options)
            for _, row in result.scores.iterrows():
                assert row["error"] == ""
                a, b = fpsnr.read_image(row["ref"]), fpsnr.read_image(row["test"])  # RGB
                stem = row["ref"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
                own = regions / f"{stem}.json"
                if own.exists():
                    discs = fpsnr.load_regions(own)
                else:
                    from fpsnr.regions.policy import fallback_regions

                    discs = fallback_regions(a, stem, options)
                expected = fpsnr.score(a, b, discs, fp=row["fp"], channel=channel)
                assert (row["psnr"], row["m_fpsnr"]) == (expected.psnr, expected.m_fpsnr), (channel, policy)


def test_several_test_folders_and_labels(tree, tmp_path):
    ref, test, regions = tree
    other = tmp_path / "other" / "test"  # same folder name: needs labels
    other.mkdir(parents=True)
    for path in test.rglob("*.*"):
        target = other / path.relative_to(test)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    with pytest.raises(fpsnr.ParameterError, match="share the label 'test'; name them with labels"):
        fpsnr.score_folders(ref, [test, other], regions, workers=1)
    result = fpsnr.score_folders(ref, [test, other], regions, labels=["one", "two"], workers=1)
    one = result.scores[result.scores["label"] == "one"]["m_fpsnr"].to_numpy()
    two = result.scores[result.scores["label"] == "two"]["m_fpsnr"].to_numpy()
    assert np.array_equal(one, two)




def test_workers_1_2_and_dask_give_identical_results(tree):
    ref, test, regions = tree
    opts = BatchOptions(fps=(0.0, 0.5))
    calls = []
    one = fpsnr.score_folders(ref, test, regions, workers=1, options=opts,
                              progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    pairs = one.scores[["label", "ref"]].drop_duplicates().shape[0]
    assert calls == [(k, pairs) for k in range(pairs + 1)]  # the library reports, the caller draws
    two = fpsnr.score_folders(ref, test, regions, workers=2, options=opts)
    assert one.scores.equals(two.scores) and one.regions.equals(two.regions)
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask's own deprecation and port notices
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            via_dask = fpsnr.score_folders(
                ref, test, regions, scheduler=cluster.scheduler_address, options=opts
            )
    assert one.scores.equals(via_dask.scores) and one.regions.equals(via_dask.regions)




def test_run_pair_turns_unexpected_failures_into_rows(tmp_path):
    task = PairTask("x", str(tmp_path / "missing.png"), str(tmp_path / "t.png"), None)
    out = run_pair(task, BatchOptions())
    assert out.error is not None and "no such file" in out.error
    assert [r["fp"] for r in out.rows] == [0.5]




def test_empty_reference_folder_is_an_error(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "t").mkdir()
    with pytest.raises(fpsnr.ParameterError, match="no images found"):
        plan_pairs(tmp_path / "r", [tmp_path / "t"], None)




def test_batch_options_are_validated():
    with pytest.raises(fpsnr.ParameterError, match=r"Fp must be in \[0, 1\]"):
        BatchOptions(fps=(0.5, 2.0))
    with pytest.raises(fpsnr.ParameterError, match="missing_regions"):
        BatchOptions(missing_regions="guess")  # type: ignore[arg-type]


def test_a_run_whose_rows_go_to_files_never_imports_pandas(tmp_path, rng):
    """pandas is 0.4 s of import: the command line, which writes CSVs, never needs it."""
    import subprocess
    import sys

    from tests.conftest import three_pairs

    ref, test = three_pairs(tmp_path, rng)
    code = (
        "import sys, fpsnr\n"
        f"result = fpsnr.score_folders({str(ref)!r}, {str(test)!r}, None, workers=1,\n"
        "    options=fpsnr.BatchOptions(missing_regions='center'))\n"
        "assert 'pandas' not in sys.modules and len(result.rows) == 3\n"
        "assert list(result.scores['m_fpsnr'].notna()) == [True] * 3 and 'pandas' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_resume_redoes_a_pair_whose_region_rows_were_cut_short(tmp_path, rng):
    """Reliability 2026-12 G1: a pair counted as done when any one of its region rows
    had reached the disk; a kill while 20,000 rows were written lost most of them. Now
    region rows go first and a pair is done only with as many as its n_regions."""
    import csv
    import json

    from click.testing import CliRunner

    from fpsnr.cli import cli
    from tests.conftest import three_pairs

    ref, test = three_pairs(tmp_path, rng)
    regions = tmp_path / "regions"
    regions.mkdir()
    centres = [{"center": [5 + 4 * i, 20], "radius": 2} for i in range(10)]
    for name in "abc":
        (regions / f"{name}.json").write_text(json.dumps({"width": 56, "height": 40, "regions": centres}))
    out, rout = tmp_path / "s.csv", tmp_path / "r.csv"
    base = ["batch", str(ref), str(test), "--regions", str(regions), "-o", str(out),
            "--regions-out", str(rout), "-j", "1"]  # fmt: skip
    assert CliRunner().invoke(cli, base).exit_code == 0
    whole = rout.read_text()
    # the state a kill leaves: partial files, pair 'b' with 4 of its 10 region rows
    lines = whole.splitlines(keepends=True)
    cut = [lines[0]] + [line for line in lines[1:] if "/b.png," not in line] + \
        [line for line in lines[1:] if "/b.png," in line][:4]  # fmt: skip
    rout.with_name("r.csv.partial").write_text("".join(cut))
    out.with_name("s.csv.partial").write_text(out.read_text())
    for path in (out, rout):
        settings = path.with_name(path.name + ".settings")
        state = json.loads(settings.read_text())
        settings.write_text(json.dumps({**state, "finished": False}))
        path.unlink()
    resumed = CliRunner().invoke(cli, [*base, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 2 pair(s) already scored" in resumed.stderr
    with rout.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sum(r["ref"].endswith("b.png") for r in rows) == 10 and rout.read_text() == whole
