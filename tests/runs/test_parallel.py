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

    monkeypatch.setattr(fpsnr.runs.parallel, "CONNECT_SECONDS", 1)
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



def test_a_worker_that_dies_while_later_tasks_are_still_being_submitted_is_caught_too(monkeypatch):
    """The pool broke inside ``submit`` (a loaded machine): BrokenProcessPool escaped."""
    import time

    from fpsnr.runs import parallel
    from tests import workers

    real_pool = parallel._pool

    class SlowSubmits:
        def __init__(self, pool):
            self.pool = pool

        def __enter__(self):
            self.pool.__enter__()
            return self

        def __exit__(self, *exc):
            return self.pool.__exit__(*exc)

        def submit(self, fn, *args):
            if fn is parallel._run_chunk and args[1] != [3]:
                time.sleep(0.5)  # the worker running task 3 is dead by now
            return self.pool.submit(fn, *args)

    monkeypatch.setattr(parallel, "_pool", lambda *a: SlowSubmits(real_pool(*a)))
    tasks = [3, 0, 1, 2]
    results = sorted(
        map_local(workers.die_on_three, tasks, None, 2, preload=(), chunk=1, on_lost=lambda t, why: (t, why)),
        key=lambda r: r[0],
    )
    assert results == [(t, t * 2) if t != 3 else (3, LOST) for t in range(4)]



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


def test_an_unguarded_script_is_refused_in_one_line_not_turned_into_error_rows(tmp_path):
    """Newcomer 2026-12 finding 3: ``score_folders`` at a script's top level (no main
    guard) returned every pair as an error row blaming memory, exit 0. Each worker
    re-imports the script and dies starting a pool of its own; the parent now checks
    that its workers start before any task, and says what to do."""
    import numpy as np

    from fpsnr.images.io import write_image

    for folder in ("ref", "test"):
        (tmp_path / folder).mkdir()
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    for i in range(3):
        write_image(tmp_path / "ref" / f"a{i}.png", img)
        write_image(tmp_path / "test" / f"a{i}.png", 255 - img)
    call = ("fpsnr.score_folders('ref', ['test'], None, workers=2, "
            "options=fpsnr.BatchOptions(missing_regions='center'))")  # fmt: skip
    (tmp_path / "unguarded.py").write_text(f"import fpsnr\nprint(len({call}.rows))\n")
    guarded = f"import fpsnr\nif __name__ == '__main__':\n    print(len({call}.rows))\n"
    (tmp_path / "guarded.py").write_text(guarded)

    def run(script: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, script]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    bad = run("unguarded.py")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1] == (
        "fpsnr.errors.ParameterError: worker processes died as they started, before any task: in a script, "
        "call this under 'if __name__ == \"__main__\":' (each worker imports the main module again), "
        "or pass workers=1"
    )
    good = run("guarded.py")
    assert good.returncode == 0 and good.stdout == "3\n", good.stderr


def test_a_huge_worker_count_is_capped_per_core(monkeypatch):
    """Reliability 2026-12 G28: -j 300 on 2 cores started 133 processes (3.2 GB)."""
    import fpsnr.runs.parallel as parallel

    asked = []
    real = parallel._pool

    def counting(workers, preload):
        asked.append(workers)
        return real(workers, preload)

    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parallel, "_pool", counting)
    assert sorted(map_local(pow, [2, 3], 2, 300, preload=())) == [4, 9]
    assert asked == [2 * parallel.WORKERS_PER_CORE]


@pytest.fixture
def dask_cluster():
    """One local Dask worker process; a task is not retried on another after its worker dies."""
    distributed = pytest.importorskip("distributed")
    import warnings

    import dask

    # one task at a time per worker thread (saturation 1.0), so only the task that kills its
    # worker is on it when it dies; no retries elsewhere
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with warnings.catch_warnings(), dask.config.set(settings):
        warnings.simplefilter("ignore")  # dask's own deprecation and port notices
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:  # fmt: skip
            yield cluster


def test_dask_relative_folders_are_read_from_the_command_s_folder(dask_cluster, tmp_path, rng, monkeypatch):
    """G16: relative folders went to workers started elsewhere: every row 'no such file'."""
    import fpsnr
    from fpsnr.options import BatchOptions

    ref, test = three_pairs(tmp_path, rng)
    opts = BatchOptions(missing_regions="center")
    local = fpsnr.score_folders(ref, test, None, workers=1, options=opts)
    monkeypatch.chdir(tmp_path)  # the worker process stays in the folder it was started in
    address = dask_cluster.scheduler_address
    via_dask = fpsnr.score_folders("ref", "test", None, scheduler=address, options=opts)
    assert (via_dask.scores["error"].fillna("") == "").all()
    for column in ("psnr", "mean_fpsnr", "periphery_psnr", "m_fpsnr"):
        assert list(via_dask.scores[column]) == list(local.scores[column])
    assert list(via_dask.scores["ref"]) == [str(Path("ref") / Path(r).name) for r in local.scores["ref"]]


def test_dask_a_task_whose_workers_all_die_is_its_own_error_row(dask_cluster):
    """G17: KilledWorker ended the whole run as an internal error; local pools give a row."""
    from fpsnr.runs.parallel import map_dask
    from tests import workers

    results = sorted(map_dask(workers.die_on_three, list(range(6)), None, dask_cluster.scheduler_address,
                              on_lost=lambda t, why: (t, why)))  # fmt: skip
    assert results[:3] + results[4:] == [(t, t * 2) for t in range(6) if t != 3]
    assert results[3] == (3, "every Dask worker that ran this task died (killed, or out of memory)")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("address", "said"),
    [("inproc://127.0.0.1:5", "inproc:// reaches only a scheduler inside the same process"),
     ("tls://127.0.0.1:8786", "tls:// needs TLS certificates, which fpsnr does not take"),
     ("127.0.0.1:99999", "not a scheduler address")],
)  # fmt: skip
def test_dask_addresses_this_process_cannot_use_are_one_line_at_once(folders, tmp_path, address, said):
    """G18/G29: inproc:// and tls:// waited 21 s for a traceback; port 99999 'timed out'."""
    pytest.importorskip("distributed")
    ref, test, opts = folders
    start = time.perf_counter()
    line = one_line_error(CliRunner().invoke(cli, ["batch", str(ref), str(test), *opts, "--scheduler",
                                                   address, "-o", str(tmp_path / "s.csv")]))  # fmt: skip
    assert said in line and time.perf_counter() - start < 5


@pytest.mark.timeout(90)
def test_dask_an_endpoint_that_never_answers_is_given_up(tmp_path, monkeypatch):
    """G18: a web server at the address held the connect for ever (Dask's timeout misses the handshake)."""
    pytest.importorskip("distributed")
    import socket

    from fpsnr.errors import ParameterError
    from fpsnr.runs import parallel

    monkeypatch.setattr(parallel, "CONNECT_SECONDS", 1)
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        start = time.perf_counter()
        with pytest.raises(ParameterError, match=f"no Dask scheduler answered at .*:{port} within 6 s"):
            list(parallel.map_dask(max, [1], None, f"tcp://127.0.0.1:{port}"))
        assert time.perf_counter() - start < 30


def test_fpsnr_batch_starts_its_workers_forkserver_before_its_own_heavy_imports(tmp_path, rng):
    """The forkserver (a fresh interpreter importing numpy, OpenCV, fpsnr) starts as ``fpsnr
    batch -j 2`` begins, so its imports overlap the command's own instead of following them."""
    ref, test = three_pairs(tmp_path, rng)
    out = tmp_path / "s.csv"
    script = textwrap.dedent(
        f"""
        import sys
        from multiprocessing import forkserver
        started = []
        real = forkserver.ensure_running
        def spy():
            started.append("cv2" in sys.modules)
            real()
        forkserver.ensure_running = spy
        from fpsnr.cli import main
        if __name__ == "__main__":
            sys.argv = ["fpsnr", "batch", {str(ref)!r}, {str(test)!r}, "--missing-regions", "center",
                        "-o", {str(out)!r}, "-j", "2"]
            try:
                main()
            finally:
                print("started before cv2:", started)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "started before cv2: [False]" in run.stdout  # once, and before OpenCV was imported
    assert len(out.read_text().splitlines()) == 1 + 3  # header + 3 pairs (Fp 0.5)


def test_a_forkserver_that_cannot_start_early_is_left_to_the_pool(monkeypatch):
    """start_early is a head start only: its failure is not a failure of the command."""
    from multiprocessing import forkserver

    import fpsnr.runs.parallel as parallel

    tried = []

    def refuse() -> None:
        tried.append(True)
        raise OSError("no sockets here")

    monkeypatch.setattr(forkserver, "ensure_running", refuse)
    parallel.start_early(("fpsnr.runs.batch",))  # does not raise
    assert tried == [True]  # it did try (a start_early that never starts a server passes nothing here)
