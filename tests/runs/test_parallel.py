"""fpsnr.runs.parallel: worker processes and Dask, and how they fail."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fpsnr.cli import cli
from fpsnr.runs.parallel import LOST, map_local
from tests.conftest import one_line_error, three_pairs


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




def test_a_malformed_scheduler_address_is_one_line_at_once(folders, tmp_path):
    """F18: 'not a url' waited 21 s and ended in two tracebacks."""
    pytest.importorskip("distributed")
    ref, test, opts = folders
    start = time.perf_counter()
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "--scheduler",
                                                   "not a url", "-o", str(tmp_path / "s.csv")]))  # fmt: skip
    assert "not a scheduler address" in line and time.perf_counter() - start < 5
    assert not list(tmp_path.glob("s.csv*"))






def test_a_task_that_kills_its_worker_becomes_its_own_error(tmp_path):
    """F14: a dead worker aborted the batch with BrokenProcessPool; now only its task fails."""
    from tests import workers

    results = sorted(
        map_local(workers.die_on_three, list(range(8)), None, 2, preload=(), on_lost=lambda t, why: (t, why)),
        key=lambda r: r[0],
    )
    assert results == [(t, t * 2) if t != 3 else (3, LOST) for t in range(8)]




def _process_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status




@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("how", ["kill", "sigint"])
def test_workers_end_with_their_parent_and_print_nothing(tmp_path, how):
    """F15: after kill -9 of the parent, workers lived on for an hour.

    F31: a worker's traceback followed the one-line message after Ctrl-C.
    """
    script = textwrap.dedent(
        f"""
        import sys
        from fpsnr.runs.parallel import map_local
        from tests import workers
        if __name__ == "__main__":
            for _ in map_local(workers.record_and_sleep, [{str(tmp_path)!r}] * 4, None, 2, preload=()):
                pass
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
    assert len(pids) >= 2 and all(_process_alive(pid) for pid in pids)
    proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(_process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_process_alive(pid) for pid in pids)
    if how == "sigint":
        assert err.count("Traceback") == 1 and "KeyboardInterrupt" in err  # the parent's own, only
