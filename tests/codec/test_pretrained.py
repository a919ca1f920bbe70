"""CompressAI's pretrained hyperpriors: download, verify, convert, cache — never the internet.

A tiny checkpoint in CompressAI's published layout (a plain state dict, the entropy
bottleneck's old ``_matrix0`` key names) is made here and served by a local
``http.server`` thread, registered under its real SHA-256 prefix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

import fpsnr.codec  # noqa: E402
import fpsnr.codec.pretrained as pretrained  # noqa: E402
from fpsnr.cli import cli  # noqa: E402
from fpsnr.codec.pretrained import CODEC_NAME, REGISTRY, Pretrained, cached, fetch, import_checkpoint  # noqa: E402
from fpsnr.codec.weights import load_weights  # noqa: E402
from fpsnr.errors import CodecError  # noqa: E402

SHARED_JSON = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "compressai-kodak"
    / "compressai-bmshj2018-hyperprior_mse_cuda.json"
)  # fmt: skip
NAME = "compressai/test-hyperprior-q1"


def _checkpoint() -> tuple[bytes, dict[str, torch.Tensor]]:
    from compressai.models import ScaleHyperprior

    torch.manual_seed(1)
    net = ScaleHyperprior(16, 16)
    net.update(force=True)
    state = net.state_dict()
    old = {}
    for key, value in state.items():  # CompressAI's published files name these the old way
        m = re.match(r"entropy_bottleneck\.(matrices|biases|factors)\.(\d)$", key)
        if m:
            key = "entropy_bottleneck._" + {"matrices": "matrix", "biases": "bias", "factors": "factor"}[
                m.group(1)
            ] + m.group(2)
        old[key] = value
    buffer = io.BytesIO()
    torch.save(old, buffer)
    return buffer.getvalue(), state


class _Server:
    """Serves ``routes[path] = (status, body, mode)``; mode "cut" closes after half the body."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                server.requests.append(self.path)
                status, body, mode = server.routes.get(self.path, (404, b"not found", ""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if mode == "cut" else body)
                if mode == "cut":
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A local server, a registry of one entry pointing at it, and a fresh cache."""
    monkeypatch.setenv("FPSNR_HOME", str(tmp_path / "home"))
    data, state = _checkpoint()
    digest = hashlib.sha256(data).hexdigest()[:8]
    server = _Server()
    path = f"/models/test-hyperprior-1-{digest}.pth.tar"
    server.routes[path] = (200, data, "")
    entry = Pretrained(name=NAME, arch="bmshj2018-hyperprior", quality=1, n=16, m=16, lmbda=0.0018,
                       url=f"http://127.0.0.1:{server.port}{path}", sha256_prefix=digest,
                       kodak_bpp=0.1, kodak_psnr=27.0)  # fmt: skip
    registry = {NAME: entry}
    monkeypatch.setattr(pretrained, "REGISTRY", registry)
    yield server, entry, data, state, path
    server.close()


def _nothing_cached(tmp_path: Path) -> bool:
    home = tmp_path / "home"
    return not [p for p in home.rglob("*") if p.is_file()] if home.exists() else True


def test_the_real_table_has_the_published_shape():
    assert len(REGISTRY) == 8
    prefixes = ["7eb97409", "93677231", "6d87be32", "de1b779c",
                "f8b614e1", "1ab9c41e", "3804dcbd", "a583f0cf"]  # fmt: skip
    for q, (name, entry) in enumerate(REGISTRY.items(), start=1):
        assert name == f"compressai/bmshj2018-hyperprior-mse-q{q}" == entry.name and entry.quality == q
        root = "https://compressai.s3.amazonaws.com/models/v1"
        assert entry.url == f"{root}/bmshj2018-hyperprior-{q}-{prefixes[q - 1]}.pth.tar"
        assert entry.sha256_prefix == prefixes[q - 1]
        assert (entry.n, entry.m) == ((128, 192) if q <= 5 else (192, 320))
    lmbdas = [e.lmbda for e in REGISTRY.values()]
    assert lmbdas == [0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800]
    if SHARED_JSON.is_file():  # the published Kodak points, as CompressAI's results file has them
        results = json.loads(SHARED_JSON.read_text())["results"]
        assert [e.kodak_bpp for e in REGISTRY.values()] == pytest.approx(results["bpp"], abs=5e-6)
        assert [e.kodak_psnr for e in REGISTRY.values()] == pytest.approx(results["psnr-rgb"], abs=5e-5)


def test_download_verifies_converts_and_caches(served, tmp_path):
    from compressai.models import ScaleHyperprior

    server, _, _, state, _ = served
    seen = []
    path = fetch(NAME, progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "home" / "pretrained" / "compressai-test-hyperprior-q1.safetensors"
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] > 0
    net, info = load_weights(path)
    assert (info.n, info.m, info.lmbda) == (16, 16, 0.0018) and info.metadata["codec"] == CODEC_NAME
    reference = ScaleHyperprior(16, 16)
    reference.load_state_dict(state)
    reference.update(force=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(net.eval()(x)["x_hat"], reference.eval()(x)["x_hat"])  # the same function
    assert fetch(NAME) == path and fpsnr.codec.load(NAME).info.weights_id == info.weights_id
    assert len(server.requests) == 1  # the second time, and by name, from the cache
    assert cached(NAME) == path and not list((tmp_path / "home").rglob("*.part"))


@pytest.mark.parametrize(
    ("route", "text"),
    [
        ((200, b"\x80\x02 some other bytes entirely", ""), "the file is damaged or is another checkpoint"),
        ((404, b"no", ""), "answered HTTP 404"),
        ((200, b"<!DOCTYPE html><html>Access denied</html>", ""), "sent a web page, not a checkpoint"),
        ("cut", "the download broke off"),
    ],
)
def test_bad_downloads_are_refused_and_nothing_is_cached(served, tmp_path, route, text):
    server, _, data, _, path = served
    server.routes[path] = (200, data, "cut") if route == "cut" else route
    with pytest.raises(CodecError, match=text) as err:
        fetch(NAME)
    assert "\n" not in str(err.value) and _nothing_cached(tmp_path)


def test_offline_says_how_to_place_the_file_by_hand(served, tmp_path, monkeypatch):
    _, entry, _, _, _ = served
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    offline = Pretrained(**{**entry.__dict__, "url": f"http://127.0.0.1:{port}/x.pth.tar"})
    monkeypatch.setattr(pretrained, "REGISTRY", {NAME: offline})
    with pytest.raises(CodecError, match=r"cannot reach 127.0.0.1:\d+ .*fpsnr codec pretrained import FILE"):
        fetch(NAME)
    assert _nothing_cached(tmp_path)


def test_a_pickle_with_code_is_refused_even_with_the_right_hash(served, tmp_path, monkeypatch):
    server, entry, _, _, path = served
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    buffer = io.BytesIO()
    torch.save({"g_a.0.weight": Evil()}, buffer)
    evil = buffer.getvalue()
    server.routes[path] = (200, evil, "")
    rigged = Pretrained(**{**entry.__dict__, "sha256_prefix": hashlib.sha256(evil).hexdigest()[:8]})
    monkeypatch.setattr(pretrained, "REGISTRY", {NAME: rigged})
    with pytest.raises(CodecError, match="holds Python objects other than tensors"):
        fetch(NAME)
    assert not marker.exists() and _nothing_cached(tmp_path)


def test_import_matches_a_file_by_its_hash(served, tmp_path):
    _, entry, data, _, _ = served
    file = tmp_path / "by-hand.pth.tar"
    file.write_bytes(data)
    found, path = import_checkpoint(file)
    assert found == entry and path.is_file() and cached(NAME) == path
    other = tmp_path / "other.pth.tar"
    other.write_bytes(data + b"x")
    with pytest.raises(CodecError, match="is none of the known checkpoints"):
        import_checkpoint(other)
    with pytest.raises(CodecError, match="must start with"):
        import_checkpoint(other, NAME)


def test_every_weights_option_takes_a_pretrained_name(served, tmp_path, rng):
    from fpsnr.images.io import write_image
    from fpsnr.rd.rdfile import read_rd_csv

    server, _, _, _, _ = served
    runner = CliRunner()
    res = runner.invoke(cli, ["codec", "pretrained", "list"])
    assert res.exit_code == 0
    assert re.search(rf"{NAME}\s+bmshj2018-hyperprior\s+16\s+16\s+0.0018.*\sno$", res.stdout)
    img = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    res = runner.invoke(cli, ["codec", "encode", str(tmp_path / "a.png"), "--weights", NAME,
                              "-o", str(tmp_path / "a.fpc")])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["codec", "decode", str(tmp_path / "a.fpc"), "--weights", NAME,
                              "-o", str(tmp_path / "b.png")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert re.search(r"\syes$", runner.invoke(cli, ["codec", "pretrained", "list"]).stdout.splitlines()[1])
    out = tmp_path / "attn.safetensors"
    res = runner.invoke(cli, ["codec", "convert", NAME, "--model", "bmshj2018-hyperprior-attn",
                              "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0 and "λ=0.0018" in res.stderr, res.output
    plain = fpsnr.codec.load(NAME).model
    attn, info = load_weights(out)
    assert info.metadata.get("init", "").startswith("attention identity")
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(attn(x)["x_hat"], plain(x)["x_hat"], atol=1e-5)
    (tmp_path / "a.json").write_text('{"width": 56, "height": 40, "regions": [{"center": [28, 20]}]}')
    rd_out = tmp_path / "rd.csv"
    res = runner.invoke(cli, ["codec", "eval", "--data", str(tmp_path), "--regions", str(tmp_path / "a.json"),
                              "--weights", NAME, "-o", str(rd_out)])  # fmt: skip
    assert res.exit_code in (0, 1), res.output  # b.png (decoded, no regions) may be an error row
    rows = read_rd_csv(rd_out)
    assert set(rows["codec"]) == {CODEC_NAME} and set(rows["rate_point"]) == {"0.0018"}
    assert len(server.requests) == 1


def test_the_attention_model_fine_tunes_from_a_pretrained_name(served, tmp_path, rng):
    """The README's path: the attention model warm-started, as the identity, on a pretrained baseline."""
    from fpsnr.images.io import write_image

    data = tmp_path / "photos"
    data.mkdir()
    for i in range(2):
        write_image(data / f"{i}.png", rng.integers(0, 256, (80, 80, 3), dtype=np.uint8))
    run = tmp_path / "run"
    args = ["codec", "train", "--data", str(data), "--model", "bmshj2018-hyperprior-attn", "--init", NAME,
            "--N", "16", "--M", "16", "--lmbda", "0.0018", "--patch", "64", "--batch-size", "2",
            "--max-steps", "1", "--out", str(run)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    _, info = load_weights(run / "last.safetensors")
    assert info.arch == "bmshj2018-hyperprior-attn"
    assert "compressai-test-hyperprior-q1" in info.metadata["init"]


def _deflated_with_filler(data: bytes, filler: int) -> bytes:
    """``data`` (a torch zip) re-packed deflated, with a member of ``filler`` zero bytes."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as packed:
        for name in source.namelist():
            packed.writestr(name, source.read(name))
        with packed.open("archive/data/filler", "w", force_zip64=True) as member:
            for _ in range(filler >> 20):
                member.write(bytes(1 << 20))
    return out.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory_before_torch_reads_it(served, tmp_path, monkeypatch):
    """Reliability G9: a 3 MB checkpoint inflated to 3 GiB inside torch.load before the check."""
    import fpsnr.limits

    _, entry, data, _, _ = served
    monkeypatch.setattr(fpsnr.limits, "MAX_CHECKPOINT_BYTES", 4 << 20)
    bomb = _deflated_with_filler(data, 8 << 20)
    assert len(bomb) < len(data) + (64 << 10)  # 8 MiB of zeros deflate to a few kB
    file = tmp_path / "bomb.pth.tar"
    file.write_bytes(bomb)
    loads: list[object] = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    rigged = Pretrained(**{**entry.__dict__, "sha256_prefix": hashlib.sha256(bomb).hexdigest()[:8]})
    monkeypatch.setattr(pretrained, "REGISTRY", {NAME: rigged})
    with pytest.raises(CodecError, match=r"bomb\.pth\.tar: unpacks to 9,[\d,]{7} bytes, more than any"):
        import_checkpoint(file)
    assert loads == [] and _nothing_cached(tmp_path)
    monkeypatch.setattr(fpsnr.limits, "MAX_CHECKPOINT_BYTES", 16 << 20)  # within the limit: read
    found, _ = import_checkpoint(file)
    assert found == rigged and len(loads) == 1


@pytest.mark.timeout(60)
def test_import_refuses_devices_and_pipes_at_once(served, tmp_path):
    """Reliability G22: /dev/zero was hashed for ever, a FIFO blocked the open."""
    fifo = tmp_path / "fifo.pth.tar"
    os.mkfifo(fifo)
    with pytest.raises(CodecError, match=r"fifo\.pth\.tar: is a pipe \(FIFO\), expected a checkpoint"):
        import_checkpoint(fifo)
    if Path("/dev/zero").exists():
        with pytest.raises(CodecError, match="/dev/zero: is a device, expected a checkpoint"):
            import_checkpoint("/dev/zero")
    assert _nothing_cached(tmp_path)


def test_importing_a_folder_is_one_line_not_a_usage_block(tmp_path):
    """G29: a folder exited 2 with click's usage block."""
    res = CliRunner().invoke(cli, ["codec", "pretrained", "import", str(tmp_path)])
    said = f"Error: {tmp_path}: is a folder, expected a checkpoint (.pth.tar)"
    assert res.exit_code == 1 and res.stderr.strip() == said


def test_import_says_only_the_prefix_was_checked_and_gives_the_full_hash(served, tmp_path):
    """G4: the registry holds 8 hex digits (all CompressAI publishes); a forged file can match them.

    The full SHA-256 of the published files could not be obtained here (no network), so
    fpsnr cannot pin it; it says what it checked and records the whole hash it saw.
    """
    from fpsnr.codec.weights import read_metadata

    _, entry, data, _, _ = served
    file = tmp_path / "by-hand.pth.tar"
    file.write_bytes(data)
    res = CliRunner().invoke(cli, ["codec", "pretrained", "import", str(file)])
    full = hashlib.sha256(data).hexdigest()
    assert res.exit_code == 0, res.output
    said = f"prefix {entry.sha256_prefix} was checked; the file's SHA-256 is {full}"
    assert said in res.stderr
    assert read_metadata(cached(NAME))["source_sha256"] == full
