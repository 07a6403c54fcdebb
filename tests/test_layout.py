"""The layout shows the flow: no module imports, at load time, one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "paxossim"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def load_time_imports(path: Path, known: set[str]) -> set[str]:
    """paxossim modules imported at the top of ``path`` (not inside functions, not
    under ``if TYPE_CHECKING``)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & known


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    found: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                found.append([*path[path.index(other):], other])
            elif other not in state:
                visit(other, path)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return found


def test_cycles_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]


def test_no_import_cycles() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(path) for path in files}
    graph = {module_name(path): load_time_imports(path, known) - {module_name(path)}
             for path in files}
    assert cycles(graph) == []


def test_the_runtime_is_the_only_module_that_imports_simpy() -> None:
    users = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
             if "simpy" in {name.split(".")[0] for name in
                            load_time_imports(path, {"simpy", "simpy.events"})}]
    assert users == ["sim/runtime.py"]
