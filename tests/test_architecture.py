"""The floors of docs/architecture.md hold: nothing in accelsim imports upward."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "accelsim"


def _floors() -> dict[str, int]:
    """Package -> floor, read from the table in docs/architecture.md."""
    floors = {}
    for line in (ROOT / "docs" / "architecture.md").read_text().splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if match:
            for name in re.findall(r"`([a-z_]+)`", match.group(2)):
                floors[name] = int(match.group(1))
    return floors


SAME_FLOOR_ALLOWED = {("replay", "plots")}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "accelsim" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "accelsim":  # `from accelsim import hardware` names a room
                found.update(f"accelsim.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("accelsim")}


def test_every_room_has_a_floor():
    floors = _floors()
    rooms = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }
    assert rooms - set(floors) == set()
    assert set(floors) - rooms == set()


def test_nothing_imports_upward_or_sideways():
    floors = _floors()
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue  # the lazy public API sits above every floor
        room = _room(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module in _imports(path):
            target = _room(module)
            if target is None or target == room or (room, target) in SAME_FLOOR_ALLOWED:
                continue
            if floors[target] >= floors[room]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} (floor {floors[target]} >= {floors[room]})")
    assert wrong == []


def _public_imports(path: Path) -> list[str]:
    """What a script imports from accelsim that is not a name of the public API."""
    import accelsim

    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("accelsim"):
            names = [alias.name for alias in node.names]
            if node.module != "accelsim" or set(names) - set(accelsim.__all__):
                wrong.append(f"from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            wrong += [alias.name for alias in node.names if alias.name.startswith("accelsim")]
    return wrong


def test_scenarios_use_only_the_public_api():
    wrong = {path.name: _public_imports(path) for path in sorted((ROOT / "scenarios").glob("*.py"))}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_the_public_api_resolves_every_name_it_lists():
    import accelsim

    assert accelsim.__all__ == sorted(set(accelsim.__all__))
    for name in accelsim.__all__:
        assert getattr(accelsim, name) is not None
