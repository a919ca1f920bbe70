"""Running one function over many tasks: local worker processes or a Dask cluster.

Results come back in completion order. Local workers are started with forkserver
(spawn where that is missing), never plain fork: a parent with threads (a Dask client,
a GUI, a notebook kernel) can leave a forked child waiting forever on a lock held by a
thread it lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from fpsnr.errors import ParameterError

__all__ = ["map_dask", "map_local"]

Task = TypeVar("Task")
Options = TypeVar("Options")


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already; no nested thread pools


def _run_chunk(func: Callable[[Task, Options], Any], tasks: list[Task], options: Options) -> list[Any]:
    return [func(task, options) for task in tasks]


def map_local(
    func: Callable[[Task, Options], Any],
    tasks: Sequence[Task],
    options: Options,
    workers: int,
    *,
    preload: Sequence[str] = ("fpsnr.batch",),
) -> Iterator[Any]:
    """Run ``func(task, options)`` over a pool of ``workers`` processes, in completion order.

    Tasks travel in small chunks: one inter-process round trip per task would cost the
    parent as much CPU as a worker on a 2-core machine. Chunks stay small (at most 8
    tasks, and at least 4 chunks per worker) so progress and crash-safe writes stay
    fine-grained. ``preload`` names modules the forkserver imports once, so every
    worker starts with them.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, mp_context=context) as pool:
        size = max(1, min(8, len(tasks) // (4 * workers)))
        chunks = [list(tasks[i : i + size]) for i in range(0, len(tasks), size)]
        futures = [pool.submit(_run_chunk, func, chunk, options) for chunk in chunks]
        try:
            for future in as_completed(futures):
                yield from future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def map_dask(
    func: Callable[[Task, Options], Any], tasks: Sequence[Task], options: Options, scheduler: str
) -> Iterator[Any]:
    """Run ``func(task, options)`` on the Dask distributed cluster at ``scheduler``."""
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise ParameterError(
            "--scheduler needs Dask distributed; install it with: pip install 'fpsnr[dist]'"
        ) from err
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from err
    try:
        with client.as_current():
            futures = client.map(func, list(tasks), options=options, pure=False)
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield future.result()
    finally:
        client.close()  # type: ignore[no-untyped-call]
