"""Peak memory and time of fpsnr on the heavy hostile inputs of the November 2026 campaign.

Each case runs ``fpsnr`` in a child process under an address-space cap
(``resource.setrlimit(RLIMIT_AS)``, default 6 GiB) and reports its exit status, wall
time, peak resident memory (``ru_maxrss`` of the child) and the first line it printed on
stderr. Before the fixes these cases took 6–10 GB and tens of seconds, or a traceback
(findings F2, F21, F22, F26, F28); each should now be refused in about the time it
takes to start the command.

Usage::

    python scripts/reliability_memory.py [--cap-gib 6] [--work DIR]

The 20000 × 20000 PNG is a real decompression bomb (1.2 GB of zero pixels, 1.2 MB on
disk), so the refusal is shown to come from the header, not from a failed decode.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(
    path: Path, width: int, height: int, *, bit_depth: int = 8, colour: int = 2, full: bool
) -> None:
    """A PNG of zeros claiming ``width`` × ``height``; ``full`` writes every row (a real bomb)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\0" * (1 + width * channels * bit_depth // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height if full else 1)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    chunks = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def run(args: list[str], cap: int, cwd: Path) -> dict[str, object]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fpsnr", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=limit,
    )  # fmt: skip
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = [line for line in err.splitlines() if line.strip()]
    return {
        "rc": proc.returncode,
        "seconds": round(time.perf_counter() - start, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "traceback": "Traceback" in err,
        "stderr": (lines[-1] if lines else "")[:150],
    }


CASES: list[tuple[str, list[str], bool]] = [
    ("F2 score, real bomb 20000² RGB8", ["score", "ref.png", "bomb20k.png", "--regions", "r.json"], False),
    ("F2 score, 32768² RGBA16 header", ["score", "bomb32k16.png", "bomb32k16.png", "--regions", "r.json"],
     False),
    ("F2 regions suggest, 20000² bomb", ["regions", "suggest", "bomb20k.png", "-o", "s.json", "--overwrite"],
     False),
    ("F26 regions check, 2^20-sided frame", ["regions", "check", "big.json"], False),
    ("F28 score --regions /dev/zero", ["score", "ref.png", "ref.png", "--regions", "/dev/zero"], False),
    ("F2 codec encode, 20000² bomb", ["codec", "encode", "bomb20k.png", "-o", "e.fpc"], True),
    ("F21 codec decode, header claims 16384²", ["codec", "decode", "big.fpc", "-o", "d.png"], True),
    ("F22 codec decode, weights with N=M=4096",
     ["codec", "decode", "small.fpc", "--weights", "hugeN.safetensors", "-o", "d.png"], True),
]  # fmt: skip


def make_inputs(work: Path) -> bool:
    """Write every input into ``work``; return whether the codec extra is installed."""
    import numpy as np

    from fpsnr.images.io import write_image

    write_image(work / "ref.png", np.zeros((512, 768, 3), np.uint8))
    (work / "r.json").write_text('{"width": 768, "height": 512, "regions": [{"center": [384, 256]}]}')
    png_bomb(work / "bomb20k.png", 20000, 20000, full=True)
    png_bomb(work / "bomb32k16.png", 32768, 32768, bit_depth=16, colour=6, full=False)
    (work / "big.json").write_text('{"width":1048576,"height":1048576,"regions":[{"center":[1,1]}]}')
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError:
        return False
    from dataclasses import replace

    from fpsnr.codec.bitstream import Header, latent_shape, pack

    header = Header(model="bmshj2018-hyperprior", weights_id=b"\0" * 8, lmbda=0.013, height=16384,
                    width=16384, channels=3, z_shape=latent_shape(16384, 16384), index_crc=0,
                    z_length=0, y_length=0)  # fmt: skip
    (work / "big.fpc").write_bytes(pack(header, b"", b""))
    small = replace(header, height=64, width=96, z_shape=latent_shape(64, 96))
    (work / "small.fpc").write_bytes(pack(small, b"", b""))
    meta = {"format": "fpsnr-weights", "arch": "bmshj2018-hyperprior", "N": "4096", "M": "4096",
            "lmbda": "0.01", "distortion": "mse", "steps": "0", "data": "x",
            "fpsnr_version": "0"}  # fmt: skip
    save_file({"g_a.0.weight": torch.zeros(1)}, str(work / "hugeN.safetensors"), metadata=meta)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-gib", type=float, default=6.0)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    parser.add_argument("--make-inputs", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    work = opts.work or Path(tempfile.mkdtemp(prefix="fpsnr-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    if opts.make_inputs:
        sys.exit(0 if make_inputs(work) else 3)
    # Inputs are made in a child: this process stays small, because Linux keeps a parent's
    # peak memory in the ru_maxrss of a child it forks, even after exec.
    made = subprocess.run([sys.executable, __file__, "--make-inputs", "--work", str(work)], check=False)
    codec = made.returncode == 0
    if made.returncode not in (0, 3):
        sys.exit("could not make the inputs")
    cap = int(opts.cap_gib * (1 << 30))
    results = []
    print(f"cap {opts.cap_gib:g} GiB of address space; inputs in {work}")
    print(f"{'case':42} {'rc':>3} {'s':>6} {'peak MiB':>9}  message")
    for name, args, needs_codec in CASES:
        if needs_codec and not codec:
            print(f"{name:42} skipped: the codec extra is not installed")
            continue
        result = run(args, cap, work)
        results.append({"case": name, **result})
        flag = "  TRACEBACK" if result["traceback"] else ""
        print(f"{name:42} {result['rc']:>3} {result['seconds']:>6} {result['peak_mib']:>9}  "
              f"{result['stderr']}{flag}")  # fmt: skip
    if opts.json is not None:
        opts.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
