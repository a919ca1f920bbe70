"""The package's structure holds: parts import one way, no circle, no module grows into several jobs.

Read from the source with ``ast`` (module-level imports, and imports inside functions for
the direction rules), so the test needs nothing installed beyond the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fpsnr"
ENGINE = ("fpsnr.metrics", "fpsnr.sums", "fpsnr.options", "fpsnr.results", "fpsnr.errors", "fpsnr.files",
          "fpsnr.limits",
          "fpsnr.formatting", "fpsnr.regions", "fpsnr.images")  # fmt: skip
ABOVE_THE_ENGINE = ("fpsnr.runs", "fpsnr.rd", "fpsnr.codec", "fpsnr.cli", "fpsnr.torch", "fpsnr.demo",
                    "fpsnr.video")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fpsnr"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fpsnr"))
    return found


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path, top_level_only=top_level_only) if m in modules and m != name}
            for name, path in modules.items()}  # fmt: skip


def test_no_module_imports_itself_round_a_circle():
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}
    circle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):  # a package importing its own submodule is its face
                continue
            if state.get(nxt) == 1:
                circle.extend([*path, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, []):
            break
    assert circle == []


@pytest.mark.parametrize("engine", ENGINE)
def test_the_engine_never_imports_the_parts_built_on_it(engine):
    graph = _graph(top_level_only=False)
    upward = sorted(
        (name, target)
        for name, targets in graph.items() if name == engine or name.startswith(engine + ".")
        for target in targets if target.startswith(ABOVE_THE_ENGINE)
    )  # fmt: skip
    assert upward == []


def test_every_part_says_what_it_is_for_and_no_module_holds_several_jobs():
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        if path.name == "__init__.py" and name != "fpsnr.cli.codec":
            assert ast.get_docstring(tree), f"{name}: its __init__ says what the part is for"
        lines = len(path.read_text().splitlines())
        assert lines <= 500, f"{name} has {lines} lines: split it by job"


def test_the_core_never_imports_torch_even_inside_functions():
    with_torch = ("fpsnr.codec", "fpsnr.torch", "fpsnr.cli.codec")
    torch_free = [n for n in _modules() if not n.startswith(with_torch)]
    for name in torch_free:
        tree = ast.parse(_modules()[name].read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])  # fmt: skip
            assert not any(n == "torch" or n.startswith(("torch.", "compressai")) for n in names), name
