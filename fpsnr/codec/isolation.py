"""The rANS decoder in a child process, where a crafted bitstream cannot crash fpsnr.

CompressAI's rANS decoder (C++) trusts its input: it reads 32-bit words from the
string for as long as the symbols it is asked for need them, and a string shorter
than that (a crafted file with a recomputed CRC) makes it read
past the end of the buffer — a segmentation fault that takes the whole process down.

Why a process and not a length check: how many bytes a valid string needs is known
only by decoding it. Each symbol may read a word, and escape ("bypass") symbols read
more, as many as the string's own bits ask for, so a sound bound on the over-read is
over a hundred times the string's length — padding that much is no cure. A check that
cannot be made complete is replaced by isolation: the child loads only CompressAI's
``ans`` extension (no torch: tens of milliseconds), decodes, and sends the symbols
back as raw int32 — never a pickle, since a compromised child must not get to run
code in the parent. A child killed by a signal, or one that answers with the wrong
number of symbols, is a one-line :class:`~fpsnr.errors.BitstreamError`.

The parent to child direction uses pickle (the parent is trusted).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from array import array
from typing import Any

from fpsnr.codec._compressai import ans_extension
from fpsnr.errors import BitstreamError

__all__ = ["IsolatedRansDecoder", "time_limit"]


def time_limit(symbols: int) -> float:
    """Seconds a child may take for ``symbols`` symbols: 30 s, plus 10 µs a symbol.

    Far above what decoding takes (tens of millions of symbols a second, the child's
    start included), and finite: a child that hangs is stopped (SPEC §4, no hang).
    """
    return 30.0 + symbols * 1e-5


_CHILD = r"""
import importlib.machinery, importlib.util, pickle, sys
from array import array
loader = importlib.machinery.ExtensionFileLoader("compressai.ans", sys.argv[1])
spec = importlib.util.spec_from_file_location("compressai.ans", sys.argv[1], loader=loader)
ans = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ans)
args = pickle.load(sys.stdin.buffer)
values = ans.RansDecoder().decode_with_indexes(*args)
sys.stdout.buffer.write(array("i", values).tobytes())
"""


class IsolatedRansDecoder:
    """A drop-in for ``compressai.ans.RansDecoder`` whose decoding runs in a child process.

    Installed once where weights are loaded (:func:`fpsnr.codec.weights.load_weights`).
    Its errors do not name the file: :func:`fpsnr.codec.coder.decode` adds that.
    """

    def decode_with_indexes(
        self, string: bytes, indexes: Any, cdfs: Any, cdf_lengths: Any, offsets: Any
    ) -> list[int]:
        count = len(indexes)
        payload = pickle.dumps(
            (bytes(string), list(indexes), [list(c) for c in cdfs], list(cdf_lengths), list(offsets)),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        limit = time_limit(count)
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-S", "-c", _CHILD, ans_extension()],
                input=payload,
                capture_output=True,
                env=env,
                check=False,
                timeout=limit,
            )
        except subprocess.TimeoutExpired:
            raise BitstreamError(
                f"the entropy decoder did not finish within {limit:.0f} s; the file is corrupt or was crafted"
            ) from None
        if proc.returncode != 0:
            how = (
                f"signal {signal.Signals(-proc.returncode).name}"
                if proc.returncode < 0 and -proc.returncode in signal.valid_signals()
                else f"exit status {proc.returncode}"
            )
            raise BitstreamError(
                f"the entropy decoder crashed on this bitstream ({how}); the file is "
                "corrupt or was crafted (its checksums were recomputed)"
            )
        values = array("i")
        values.frombytes(proc.stdout[: len(proc.stdout) // 4 * 4])
        if len(values) != count:
            raise BitstreamError(f"the entropy decoder returned {len(values)} symbols, {count} expected")
        return values.tolist()
