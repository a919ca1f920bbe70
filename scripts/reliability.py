"""Re-run every reproduction of the two reliability campaigns as one command.

``../shared/reliability/findings-2026-11.md`` (F1–F33) and ``findings-2026-12.md``
(G1–G29) list the defects a hostile-input and fault campaign found. Each was fixed with
a regression test that builds the campaign's hostile input (a bomb, a planted link, a
kill part-way, a tampered run folder …) and fails on the code before the fix. This
script holds the map defect → tests, runs all of them in one pytest session and prints
the table: defect, what it was, its tests, held or not.

Usage::

    python scripts/reliability.py            # the table, Markdown; exit 1 if any defect is back
    python scripts/reliability.py --heavy    # also the heavy November cases under a memory cap
                                             # (scripts/reliability_memory.py: bombs, /dev/zero)

Tests that need an extra (torch for the codec, dask for the scheduler) are skipped where
it is not installed; the table says "skipped" for them, never "held".
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DECEMBER: dict[str, tuple[str, tuple[str, ...]]] = {
    "G1": ("resume trusted a pair whose region rows were half written", (
        "tests/runs/test_batch.py::test_resume_redoes_a_pair_whose_region_rows_were_cut_short",)),
    "G2": ("a kill mid-checkpoint paired new weights with an old optimiser", (
        "tests/codec/test_train.py::test_a_checkpoint_cut_off_between_its_two_files_still_resumes_exactly",
        "tests/codec/test_train.py::test_an_old_checkpoint_whose_two_files_disagree_is_refused")),
    "G3": ("a second train --resume of a running run was accepted", (
        "tests/codec/test_torch_metrics.py::test_a_run_that_is_training_cannot_be_resumed_by_a_second_process",)),
    "G4": ("pretrained import trusted a 32-bit hash prefix", (
        "tests/codec/test_pretrained.py::test_import_says_only_the_prefix_was_checked_and_gives_the_full_hash",)),
    "G5": ("planted links at <out>.lock / <out>.tmp clobbered files", (
        "tests/test_files.py::test_planted_links_are_never_written_through",)),
    "G6": ("float TIFF and HDR bombs bypassed the header check", (
        "tests/test_limits.py::test_tiffs_pillow_cannot_parse_are_sized_from_their_directory",
        "tests/test_limits.py::test_radiance_hdr_is_sized_from_its_header_under_any_name")),
    "G7": ("a NaN or huge weight hung codec encode", (
        "tests/codec/test_weights.py::test_weights_whose_values_would_hang_or_flood_the_coder_are_refused_on_load",
        "tests/codec/test_weights.py::test_weights_whose_latents_overflow_the_coder_are_refused_before_coding")),
    "G8": ("weight values drove huge allocations", (
        "tests/codec/test_weights.py::test_weights_whose_values_would_hang_or_flood_the_coder_are_refused_on_load",)),
    "G9": ("a .pth zip bomb cost gigabytes", (
        "tests/codec/test_pretrained.py::test_a_zip_bomb_is_refused_from_its_directory_before_torch_reads_it",)),
    "G10": ("fpsnr.torch: a NaN pixel gave finite wrong values", (
        "tests/codec/test_torch_metrics.py::test_a_nan_pixel_makes_nan_exactly_where_it_lies",)),
    "G11": ("fpsnr.torch computed half precision in its own dtype", (
        "tests/codec/test_torch_metrics.py::test_half_precision_is_computed_in_float32",)),
    "G12": ("fpsnr.torch accepted values outside [0, data_range]", (
        "tests/codec/test_torch_metrics.py::test_values_outside_the_range_are_refused_as_the_numpy_engine_refuses_them",)),
    "G13": ("fpsnr.torch memory grew as K·H·W", (
        "tests/codec/test_torch_metrics.py::test_many_regions_cost_their_area_not_k_times_the_frame",)),
    "G14": ("fpsnr.torch took Disc objects unchecked", (
        "tests/codec/test_torch_metrics.py::test_disc_objects_are_checked_as_regions_are",)),
    "G15": ("resume kept rows from edited regions or another folder", (
        "tests/cli/test_batch_cli.py::test_resume_refuses_edited_regions_and_the_same_command_from_another_folder",)),
    "G16": ("Dask: relative folders sent to workers unresolved", (
        "tests/runs/test_parallel.py::test_dask_relative_folders_are_read_from_the_command_s_folder",)),
    "G17": ("Dask: a pair killing its workers aborted the run", (
        "tests/runs/test_parallel.py::test_dask_a_task_whose_workers_all_die_is_its_own_error_row",)),
    "G18": ("Dask: a non-Dask endpoint hung; inproc:// and tls:// tracebacks", (
        "tests/runs/test_parallel.py::test_dask_addresses_this_process_cannot_use_are_one_line_at_once",
        "tests/runs/test_parallel.py::test_dask_an_endpoint_that_never_answers_is_given_up")),
    "G19": ("a lone surrogate in a label crashed every later resume", (
        "tests/regions/test_regionfile.py::test_labels_that_no_output_can_write_or_that_drive_a_terminal_are_refused",)),
    "G20": ("a tampered run folder gave internal errors and huge allocations", (
        "tests/codec/test_train.py::test_a_damaged_run_folder_is_one_line_naming_the_file",
        "tests/codec/test_train.py::test_absurd_channel_counts_and_batches_are_refused_before_torch_allocates",
        "tests/codec/test_train.py::test_resuming_a_run_recorded_on_a_gpu_this_machine_lacks_says_to_give_a_device",
        "tests/codec/test_training_config.py::test_every_field_is_checked_for_its_type_and_range",
        "tests/codec/test_training_config.py::test_a_damaged_or_edited_config_json_is_one_line_naming_it")),
    "G21": ("a full disk while training saved gave internal errors", (
        "tests/test_files.py::test_a_saver_that_fails_on_a_full_disk_is_one_output_error_and_the_old_file_stays",)),
    "G22": ("devices, pipes and FIFOs read without bound", (
        "tests/test_limits.py::test_device_files_are_read_with_a_bound",
        "tests/test_limits.py::test_an_image_that_is_a_pipe_is_refused_without_waiting_for_a_writer",
        "tests/codec/test_pretrained.py::test_import_refuses_devices_and_pipes_at_once",
        "tests/codec/test_weights.py::test_weights_and_checkpoints_that_are_pipes_are_refused_at_once",
        "tests/codec/test_training_config.py::test_a_pipe_in_place_of_a_run_s_records_is_refused_at_once",
        "tests/rd/test_rdfile.py::test_an_rd_file_from_a_device_or_pipe_is_read_counted",
        "tests/runs/test_sink.py::test_a_pipe_or_device_in_place_of_a_run_file_is_refused_on_resume")),
    "G23": ("batch memory grew with the number of pairs", (
        "tests/runs/test_spill.py::test_spilled_rows_never_exceed_one_chunk_in_memory",)),
    "G24": ("the Python API raised raw exceptions for wrong types", (
        "tests/test_errors.py::test_a_wrong_type_at_the_api_is_one_error_naming_its_parameter",
        "tests/test_errors.py::test_score_folders_takes_plain_score_options")),
    "G25": ("a huge data_range made PSNR +inf", (
        "tests/test_metrics.py::test_absurd_values_are_refused_or_scored_right_never_a_false_number",)),
    "G26": ("untrusted text raw to the terminal and into CSV", (
        "tests/regions/test_regionfile.py::test_labels_that_no_output_can_write_or_that_drive_a_terminal_are_refused",)),
    "G27": ("symlinked --out replaced, long names, rd export collisions", (
        "tests/test_files.py::test_planted_links_are_never_written_through",
        "tests/runs/test_sink.py::test_a_name_too_long_for_the_files_beside_it_is_refused_naming_the_room_left",
        "tests/test_interop.py::test_rd_export_takes_several_csvs_a_prefix_and_refuses_collisions_and_existing_files")),
    "G28": ("--workers had no cap", (
        "tests/runs/test_parallel.py::test_a_huge_worker_count_is_capped_per_core",)),
    "G29": ("cosmetic messages", (
        "tests/runs/test_parallel.py::test_dask_addresses_this_process_cannot_use_are_one_line_at_once",
        "tests/regions/test_regionfile.py::test_a_utf8_byte_order_mark_is_accepted",
        "tests/regions/test_regionfile.py::test_an_integer_of_thousands_of_digits_is_one_line_without_python_advice",
        "tests/codec/test_train.py::test_non_finite_losses_are_skipped_then_stop_the_run",
        "tests/cli/test_regions_cli.py::test_show_refuses_a_region_that_score_refuses",
        "tests/test_options.py::test_fp_minus_zero_is_zero",
        "tests/rd/test_plots.py::test_a_lossless_image_has_no_ratio_and_does_not_read_minus_100_percent",
        "tests/rd/test_bdrate.py::test_a_header_only_rd_file_says_it_has_no_rows",
        "tests/codec/test_pretrained.py::test_importing_a_folder_is_one_line_not_a_usage_block",
        "tests/test_limits.py::test_radiance_hdr_is_sized_from_its_header_under_any_name")),
}  # fmt: skip

NOVEMBER: dict[str, tuple[str, tuple[str, ...]]] = {
    "F1": ("a PNG claiming > 2³⁰ pixels gave a traceback", (
        "tests/test_limits.py::test_an_image_claiming_too_many_pixels_is_refused_from_its_header",)),
    "F2": ("decompression bombs cost gigabytes", (
        "tests/test_limits.py::test_an_image_claiming_too_many_pixels_is_refused_from_its_header",)),
    "F3": ("RGB TIFF of int16/int32/float64 gave a traceback", (
        "tests/images/test_io.py::test_tiff_of_any_dtype_is_read_and_refused_in_one_line",)),
    "F4": ("far-apart region centres overflowed", (
        "tests/regions/test_model.py::test_huge_radius_is_accepted_and_clipped_up_to_the_coordinate_limit",)),
    "F5": ("huge coordinates: a warning leaked, the result was wrong", (
        "tests/regions/test_model.py::test_huge_radius_is_accepted_and_clipped_up_to_the_coordinate_limit",)),
    "F6": ("ambiguous regions accepted silently", (
        "tests/regions/test_regionfile.py::test_ambiguous_regions_files_are_refused",)),
    "F7": ("concurrent writers destroyed the batch output", (
        "tests/runs/test_lock.py::test_a_second_writer_is_refused_while_the_first_holds_the_output",)),
    "F8": ("control characters in names dropped or altered rows", (
        "tests/cli/test_batch_cli.py::test_every_name_and_label_comes_back_exactly_and_resume_redoes_none",)),
    "F9": ("a non-UTF-8 file name aborted batch", (
        "tests/runs/test_sink.py::test_names_that_are_not_utf8_are_written_and_read_back_byte_for_byte",)),
    "F10": ("resume of a finished run ignored changed settings", (
        "tests/runs/test_sink.py::test_resuming_a_finished_run_checks_its_settings",)),
    "F11": ("corrupt resume state gave tracebacks", (
        "tests/runs/test_sink.py::test_damaged_resume_state_is_one_line",)),
    "F12": ("unwritable output paths gave tracebacks", (
        "tests/runs/test_sink.py::test_unwritable_outputs_are_one_line_and_leave_nothing",)),
    "F13": ("a full disk gave tracebacks", (
        "tests/runs/test_sink.py::test_a_full_disk_is_one_line_and_resume_finishes_the_job",)),
    "F14": ("a dead worker aborted the batch", (
        "tests/runs/test_parallel.py::test_a_task_that_kills_its_worker_becomes_its_own_error",)),
    "F15": ("orphaned processes after the main process was killed", (
        "tests/runs/test_parallel.py::test_workers_end_with_their_parent_and_print_nothing",)),
    "F16": ("parts of REF_DIR silently skipped", (
        "tests/images/test_io.py::test_linked_folders_are_followed_and_unlistable_ones_refused",)),
    "F17": ("a refused run left partial files", ("tests/cli/test_batch_cli.py::test_usage_errors",)),
    "F18": ("a malformed scheduler address gave a traceback", (
        "tests/runs/test_parallel.py::test_a_malformed_scheduler_address_is_one_line_at_once",)),
    "F19": ("a repeated Fp lost rows on resume", (
        "tests/cli/test_batch_cli.py::test_a_repeated_fp_is_refused_up_front",)),
    "F20": ("a crafted bitstream segfaulted the decoder", (
        "tests/codec/test_isolation.py::test_a_crafted_short_y_string_is_an_error_not_a_crash",)),
    "F21": ("a header claiming a huge image was not refused before allocating", (
        "tests/codec/test_cli_codec.py::test_a_header_claiming_a_huge_image_is_refused_before_the_weights_load",)),
    "F22": ("weights metadata or shapes drove huge allocations", (
        "tests/codec/test_weights.py::test_weights_declaring_huge_channels_are_refused_before_a_model_is_built",)),
    "F23": ("an invalid --device gave a traceback", (
        "tests/codec/test_cli_codec.py::test_devices_are_checked_in_one_line",)),
    "F24": ("a malicious .pth: multi-line message with unsafe advice", (
        "tests/codec/test_weights.py::test_converter_refuses_pickled_code_in_one_line_without_unsafe_advice",)),
    "F25": ("a shape mismatch did not name the mismatch", (
        "tests/codec/test_weights.py::test_a_shape_mismatch_names_the_tensor_and_both_shapes",)),
    "F26": ("regions check on a large recorded size: MemoryError", (
        "tests/regions/test_discs.py::test_checking_a_huge_recorded_frame_costs_nothing",)),
    "F27": ("regions show with an off-image centre gave a traceback", (
        "tests/regions/test_model.py::test_huge_radius_is_accepted_and_clipped_up_to_the_coordinate_limit",)),
    "F28": ("device files bypassed the regions size limit", (
        "tests/test_limits.py::test_device_files_are_read_with_a_bound",)),
    "F29": ("RD tools gave tracebacks on bad cells or extensions", (
        "tests/rd/test_rdfile.py::test_bad_rd_cells_are_named_by_line_and_column",)),
    "F30": ("unreadable files exited 2 instead of 1", ("tests/cli/test_batch_cli.py::test_usage_errors",)),
    "F31": ("a worker traceback after Ctrl-C", (
        "tests/runs/test_parallel.py::test_workers_end_with_their_parent_and_print_nothing",)),
    "F32": ("misleading messages for hostile bitstreams", (
        "tests/codec/test_coder.py::test_a_nan_decode_on_the_cpu_does_not_advise_the_cpu",)),
    "F33": ("an eval error row carried invented numbers", (
        "tests/codec/test_cli_codec.py::test_eval_writes_the_rd_schema_from_real_bitstreams",)),
}  # fmt: skip


def missing_tests() -> list[str]:
    """Node ids in the maps whose file or test function does not exist (the map has rotted)."""
    missing = []
    defined: dict[str, set[str]] = {}
    for _, tests in (*DECEMBER.values(), *NOVEMBER.values()):
        for node in tests:
            file, name = node.split("::")
            if file not in defined:
                path = ROOT / file
                tree = ast.parse(path.read_text(encoding="utf-8")) if path.is_file() else ast.Module([], [])
                defined[file] = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            if name not in defined[file]:
                missing.append(node)
    return missing


def _outcomes(nodes: list[str]) -> dict[str, str]:
    """Each test function's outcome: passed, failed or skipped (every parametrized case counted)."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *nodes]
        subprocess.run(cmd, cwd=ROOT, check=False, stdout=sys.stderr)  # the table alone on stdout
        cases = ET.parse(report).getroot().iter("testcase")
        out: dict[str, str] = {}
        for case in cases:
            file = case.get("classname", "").replace(".", "/") + ".py"
            node = f"{file}::{case.get('name', '').split('[')[0]}"
            state = (
                "failed" if case.find("failure") is not None or case.find("error") is not None
                else "skipped" if case.find("skipped") is not None else "passed"
            )  # fmt: skip
            rank = {"passed": 0, "skipped": 1, "failed": 2}
            if rank[state] >= rank[out.get(node, "passed")]:
                out[node] = state
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", action="store_true", help="also run scripts/reliability_memory.py")
    args = parser.parse_args()
    missing = missing_tests()
    if missing:
        print("the map names tests that do not exist:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    nodes = sorted({n for _, tests in (*DECEMBER.values(), *NOVEMBER.values()) for n in tests})
    outcomes = _outcomes(nodes)
    back = 0
    print("| defect | what it was | tests | result |\n|---|---|---|---|")
    for defect, (what, tests) in (*DECEMBER.items(), *NOVEMBER.items()):
        states = [outcomes.get(t, "not run") for t in tests]
        result = "back" if "failed" in states or "not run" in states else (
            "held" if all(s == "passed" for s in states) else "held (some skipped: an extra is missing)")
        back += result == "back"
        names = "<br>".join(f"`{t.split('::')[1]}`" for t in tests)
        print(f"| {defect} | {what} | {names} | {result} |")
    print(f"\n{len(DECEMBER) + len(NOVEMBER) - back} of {len(DECEMBER) + len(NOVEMBER)} defects hold")
    if args.heavy:
        heavy = subprocess.run([sys.executable, str(ROOT / "scripts" / "reliability_memory.py")], check=False)
        back += heavy.returncode != 0
    return 1 if back else 0


if __name__ == "__main__":
    sys.exit(main())
