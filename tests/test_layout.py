"""The package's shape: no import circles between govassist's modules (imports inside functions and under
TYPE_CHECKING count too), and no type-checker silencing on what the stores return."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "govassist").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The govassist modules `name` imports anywhere in its body (`from .x import y` names module x.y if y is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & known
            found.update(subs)
            if target in known and (node.module or len(subs) < len(node.names)):
                found.add(target)
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle found by depth-first search (each reported once, from its first module)."""
    found, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_src() -> None:
    mods = _modules()
    graph = {name: _imports(name, path, set(mods)) for name, path in mods.items()}
    assert graph["govassist.store.postgres"] >= {"govassist.store.plan"}  # the walk sees relative imports
    assert cycles(graph) == []


def test_no_type_ignore_on_store_returns() -> None:
    for path in (SRC / "govassist").rglob("*.py"):
        assert "type: ignore[return-value]" not in path.read_text(encoding="utf-8"), path


def _imported_names() -> set[str]:
    """Every dotted module name imported anywhere in src/ and app.py, with its parents ("a.b.c", "a.b", "a")."""
    names: set[str] = set()
    for path in [*(SRC / "govassist").rglob("*.py"), SRC.parent / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                mods = [node.module]
            for m in mods:
                parts = m.split(".")
                names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


PINS = {"torch"}  # not imported: pinned so that pip takes the CPU build instead of a multi-GB CUDA one


def test_pyproject_lists_only_imported_dependencies() -> None:
    import re
    import tomllib
    from importlib import metadata

    from govassist.embed import MPNET_PARTS

    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
    imported = _imported_names()
    unused = []
    for req in [*project["dependencies"], *project["optional-dependencies"]["pg"]]:
        name = re.split(r"[<>=\[ ;]", req, maxsplit=1)[0]
        if name in PINS or name in MPNET_PARTS:  # the model's zip parts: found by distribution name (embed.py)
            continue
        dist = metadata.distribution(name)
        provided = {
            ".".join(f.parts[:-1]) if f.name == "__init__.py" else ".".join(f.with_suffix("").parts)
            for f in (Path(str(p)) for p in dist.files or ())
            if f.suffix in (".py", ".so") and not f.parts[0].endswith((".dist-info", ".data"))
        }
        if not provided & imported:
            unused.append(req)
    assert unused == []


def test_the_fast_tier_leaves_out_slow_tests() -> None:
    import subprocess
    import sys

    tests = Path(__file__).parent
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
    out = subprocess.run(
        [*argv, str(tests / "test_store_contract.py"), str(tests / "test_evaluate.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tests.parent,
    ).stdout
    assert "test_store_contract.py::test_shape[files]" in out and "[postgres]" not in out  # pg marks are slow
    assert "test_bad_gate_specs_are_rejected" in out and "test_metrics_match_hand_computed_values" not in out
