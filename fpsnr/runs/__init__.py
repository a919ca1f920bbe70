"""Runs over many inputs: pairing files, worker processes, crash-safe output, progress.

:mod:`~fpsnr.runs.batch` scores folders (``fpsnr batch``, :func:`fpsnr.score_folders`) on
the parts beside it: :mod:`~fpsnr.runs.pairing`, :mod:`~fpsnr.runs.parallel` (local
processes or Dask), :mod:`~fpsnr.runs.sink` and :mod:`~fpsnr.runs.lock` (output that
survives a crash and resumes), :mod:`~fpsnr.runs.progress`.
"""
