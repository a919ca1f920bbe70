"""Running one function over many tasks: local worker processes or a Dask cluster.

Results come back in completion order. Local workers are started with forkserver
(spawn where that is missing), never plain fork: a parent with threads (a Dask client,
a GUI, a notebook kernel) can leave a forked child waiting forever on a lock held by a
thread it lost.

Worker lifecycle, by design rather than by case:

- A worker dies with the process that started the pool: a watchdog thread waits on
  the parent (a Linux pidfd, else a one-second poll) and exits the worker when the
  parent is gone, so a ``kill -9`` of ``fpsnr batch`` leaves no orphans.
- Workers ignore Ctrl-C and write nothing to stderr: the parent alone decides what an
  interrupt means and reports it in one line; their results come back as values.
- A worker that dies (killed, out of memory) does not end the run: the unfinished
  tasks are run again in a fresh pool, then one at a time, and a task that kills its
  worker even alone becomes ``on_lost(task, message)`` — an error row for its pair.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

from fpsnr.errors import ParameterError

__all__ = ["map_dask", "map_local", "start_early"]

Task = TypeVar("Task")
Options = TypeVar("Options")

WORKERS_PER_CORE = 4
"""Local pools start at most this many processes per core, whatever is asked (reliability
G28: ``-j 300`` on 2 cores started 133 processes and 3.2 GB; more than a few per core
only adds memory, since every worker is busy on the CPU)."""

CONNECT_SECONDS = 10
"""How long ``--scheduler`` waits for the scheduler to answer (the handshake 5 s more)."""

LOST = "the worker process died while running this task (killed, or out of memory)"
"""What ``on_lost`` is told when a task kills its worker even when run alone."""

STARTUP = (
    "worker processes died as they started, before any task: in a script, call this under "
    "'if __name__ == \"__main__\":' (each worker imports the main module again), or pass {one_worker}"
)
"""Raised when a fresh pool cannot run an empty task: no task is to blame, so no error row."""


def _watch_parent(pid: int) -> None:
    import select
    import time

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # not Linux, or an old kernel: poll instead
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
    select.select([fd], [], [])  # readable once the parent has exited
    os._exit(1)


def _init_worker(parent: int) -> None:
    import signal
    import sys
    import threading

    import cv2

    cv2.setNumThreads(1)  # one process per core already; no nested thread pools
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sys.stderr = open(os.devnull, "w")  # for the worker's lifetime
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="fpsnr-watchdog").start()


def _alive() -> bool:
    return True


def _run_chunk(func: Callable[[Task, Options], Any], tasks: list[Task], options: Options) -> list[Any]:
    return [func(task, options) for task in tasks]


def _context(preload: Sequence[str]) -> Any:
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    return context


def start_early(preload: Sequence[str]) -> None:
    """Start the forkserver now, so that its imports run beside the caller's own.

    A forkserver is a fresh interpreter that imports ``preload`` (numpy, OpenCV and fpsnr:
    0.13-0.15 s) before it forks the first worker. A command that will need a pool calls
    this as it starts, before its own heavy imports and its planning, and the two overlap
    on a second core; the pool made later forks from the same server, and a run that ends
    up needing no pool only leaves it idle until the process exits. Only for a main module
    that keeps its work under ``if __name__ == "__main__":`` (fpsnr's command line), and
    naming ``"__main__"`` in ``preload`` then spares each worker importing it again.
    Where forkserver is missing (spawn) it does nothing, and a server that cannot be started
    here (no socket, no process) is left for the pool to start, and to report, as before.
    """
    context = _context(preload)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with contextlib.suppress(OSError):  # only a head start: never a failure of its own
            forkserver.ensure_running()


def _pool(workers: int, preload: Sequence[str]) -> Any:
    from concurrent.futures import ProcessPoolExecutor

    context = _context(preload)  # (a server already running keeps the modules it started with)
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),), mp_context=context
    )


def _check_start(pool: Any) -> None:
    """Refuse a pool whose workers cannot start (an unguarded script), before any task runs.

    Started from a script's top level without a main guard, every worker re-imports the
    script, which starts a pool again and dies in multiprocessing's bootstrapping check.
    Seen only as dead workers, that would make every pair an error row blaming memory.
    """
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool.submit(_alive).result()
    except BrokenProcessPool:
        raise ParameterError(STARTUP) from None


def _stop(pool: Any) -> None:
    """Cancel what has not started and end the workers now (Ctrl-C, an error in the parent).

    Workers ignore SIGINT, so without this the parent would wait for their chunks.
    ``_processes`` is private (Python 3.14 adds ``terminate_workers``); where it is
    missing the pool simply finishes its running chunks.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()


def map_local(
    func: Callable[[Task, Options], Any],
    tasks: Sequence[Task],
    options: Options,
    workers: int,
    *,
    preload: Sequence[str] = ("fpsnr.runs.batch",),
    on_lost: Callable[[Task, str], Any] | None = None,
    chunk: int | None = None,
) -> Generator[Any, None, None]:
    """Run ``func(task, options)`` over a pool of ``workers`` processes, in completion order.

    Tasks travel in small chunks: one inter-process round trip per task would cost the
    parent as much CPU as a worker on a 2-core machine. Chunks stay small (at most 8
    tasks, and at least 4 chunks per worker) so progress and crash-safe writes stay
    fine-grained; ``chunk`` fixes the size (1: every result comes back on its own, for
    tasks long enough to pay one round trip each). ``preload`` names modules the
    forkserver imports once, so every worker starts with them. ``on_lost(task, message)``
    gives the result of a task that kills its worker (see the module docstring); without
    it such a task raises. ``workers`` is capped at :data:`WORKERS_PER_CORE` per core.
    """
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    workers = max(1, min(workers, WORKERS_PER_CORE * (os.cpu_count() or 1)))
    pending = list(tasks)
    for attempt in range(2):
        if not pending:
            return
        with _pool(workers, preload) as pool:
            if attempt == 0:
                _check_start(pool)
            size = chunk or max(1, min(8, len(pending) // (4 * workers)))
            parts = [pending[i : i + size] for i in range(0, len(pending), size)]
            unfinished: dict[Any, list[Task]] = {}
            sent = 0
            try:
                # A task can kill its worker while later chunks are still being
                # submitted: submit breaks then too, so it sits inside the same guard.
                for part in parts:
                    unfinished[pool.submit(_run_chunk, func, part, options)] = part
                    sent += 1
                for future in as_completed(list(unfinished)):
                    results = future.result()
                    del unfinished[future]
                    yield from results
            except BrokenProcessPool:
                pending = [task for part in [*unfinished.values(), *parts[sent:]] for task in part]
                continue
            except BaseException:
                _stop(pool)
                raise
        pending = []
    # Twice a pool broke: run what is left one task at a time, so the culprit is known.
    for task in pending:
        with _pool(1, preload) as pool:
            try:
                yield pool.submit(func, task, options).result()
            except BrokenProcessPool:
                if on_lost is None:
                    raise ParameterError(LOST) from None
                yield on_lost(task, LOST)


_ADDRESS = re.compile(
    r"^(?:(?P<protocol>tcp|tls|inproc|ucx|ws|wss)://)?(?:[\w.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$",
    re.IGNORECASE,
)


def map_dask(
    func: Callable[[Task, Options], Any],
    tasks: Sequence[Task],
    options: Options,
    scheduler: str,
    *,
    on_lost: Callable[[Task, str], Any] | None = None,
) -> Generator[Any, None, None]:
    """Run ``func(task, options)`` on the Dask distributed cluster at ``scheduler``.

    A task whose workers all died running it (Dask's ``KilledWorker``, after its
    allowed retries) is given to ``on_lost(task, why)``, whose result is yielded in its
    place, as :func:`map_local` does; without ``on_lost`` the error is raised.
    """
    address = _checked_address(scheduler)
    try:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker
    except ImportError as err:
        raise ParameterError(
            "{scheduler} needs Dask distributed: pip install -e '.[dist]' in the fpsnr checkout"
        ) from err
    client = _connect(address)
    try:
        with client.as_current():
            futures = client.map(func, list(tasks), options=options, pure=False)
            task_of = {future.key: task for future, task in zip(futures, tasks, strict=True)}
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                try:
                    yield future.result()
                except KilledWorker:
                    if on_lost is None:
                        raise
                    why = "every Dask worker that ran this task died (killed, or out of memory)"
                    yield on_lost(task_of[future.key], why)
    finally:
        with contextlib.suppress(OSError, TimeoutError):
            client.close(timeout=5)  # type: ignore[no-untyped-call]


def _checked_address(scheduler: str) -> str:
    """``scheduler`` as an address this process can reach, or one line saying why not."""
    address = scheduler.strip()
    found = _ADDRESS.match(address)
    if found is None or int(found["port"]) > 65535:
        raise ParameterError(
            f"{{scheduler}} {scheduler!r}: not a scheduler address; give one like tcp://host:8786"
        )
    protocol = (found["protocol"] or "tcp").lower()
    if protocol == "inproc":
        raise ParameterError(
            f"{{scheduler}} {scheduler!r}: inproc:// reaches only a scheduler inside the same process; "
            "give the scheduler's tcp://host:port"
        )
    if protocol in ("tls", "wss"):
        raise ParameterError(
            f"{{scheduler}} {scheduler!r}: {protocol}:// needs TLS certificates, which fpsnr does not take; "
            "give the scheduler's tcp://host:port (over an SSH tunnel if the network is not trusted)"
        )
    return address


def _connect(address: str) -> Any:
    """A Dask client of ``address``, or one line saying why not, within a deadline.

    Dask's own connect timeout covers the TCP connection, not the handshake after it:
    an endpoint that accepts and never answers (a web server) held it for ever
    (reliability G18). The client is made in a thread that is given up after the
    deadline.
    """
    import threading

    from distributed import Client

    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)  # type: ignore[no-untyped-call]
        except BaseException as err:  # reported in the caller's thread
            made["error"] = err

    thread = threading.Thread(target=connect, name="fpsnr-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 5)
    if "client" in made:
        return made["client"]
    if thread.is_alive():
        raise ParameterError(
            f"no Dask scheduler answered at {address} within {CONNECT_SECONDS + 5} s "
            "(something else may be listening there: check the address and port)"
        )
    err = made.get("error")
    reason = str(err) if isinstance(err, (OSError, TimeoutError)) else f"{type(err).__name__}: {err}"
    raise ParameterError(f"cannot reach the Dask scheduler at {address}: {(reason.splitlines() or [''])[0]}")
