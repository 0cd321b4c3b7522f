"""One naming style for service singletons (issue 21; docs/DECISIONS.md, "Service singletons").

A service class `FooBarService` has one module-level instance named `foo_bar_service`, and every
module imports it under that name: `from lending.x.service import foo_bar_service`, never
`... import foo_bar as foo_bar_service` or `... import foo_bar_service as svc`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("lending", "knowledge", "tools", "agents", "voice", "api", "admin", "evals", "cli")
CHECKED = (*PRODUCT, "simulators", "tests", "benchmarks", "devtools", "migrations", "scripts")


def snake(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def singletons_in(tree: ast.Module) -> dict[str, str]:
    """Module-level instances of a `...Service` class defined in the same module: name -> class."""
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    found: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id.endswith("Service")
            and value.func.id in classes
        ):
            found[target.id] = value.func.id
    return found


def misnamed(singletons: dict[str, dict[str, str]]) -> list[str]:
    return [
        f"{module}.{name} = {cls}() should be named {snake(cls)}"
        for module, found in sorted(singletons.items())
        for name, cls in found.items()
        if name != snake(cls)
    ]


def aliased_imports(
    sources: dict[str, ast.Module], singletons: dict[str, dict[str, str]]
) -> list[str]:
    """`from M import singleton as other` anywhere (module or function level)."""
    found = []
    for where, tree in sorted(sources.items()):
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
                continue
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    if alias.name in singletons.get(node.module, {}):
                        found.append(
                            f"{where}:{node.lineno}: {node.module}.{alias.name} "
                            f"imported as {alias.asname}"
                        )
    return found


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _trees(packages: tuple[str, ...]) -> dict[Path, ast.Module]:
    return {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for package in packages
        if (ROOT / package).is_dir()
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _checkout() -> tuple[dict[str, dict[str, str]], dict[str, ast.Module]]:
    singletons = {
        _module_name(path): found
        for path, tree in _trees(PRODUCT).items()
        if (found := singletons_in(tree))
    }
    sources = {str(path.relative_to(ROOT)): tree for path, tree in _trees(CHECKED).items()}
    return singletons, sources


def test_the_checks_see_a_misnamed_singleton_and_an_aliased_import() -> None:
    defining = ast.parse("class OfferService: ...\n\noffer = OfferService()\n")
    importing = ast.parse(
        "from lending.offers.service import offer as offer_service\n"
        "def f():\n    from lending.offers.service import offer_service as svc\n"
    )
    singletons = {"lending.offers.service": singletons_in(defining)}
    assert singletons == {"lending.offers.service": {"offer": "OfferService"}}
    assert misnamed(singletons) == [
        "lending.offers.service.offer = OfferService() should be named offer_service"
    ]
    assert len(aliased_imports({"x.py": importing}, singletons)) == 1
    renamed = {"lending.offers.service": {"offer_service": "OfferService"}}
    assert aliased_imports({"x.py": importing}, renamed) == [
        "x.py:3: lending.offers.service.offer_service imported as svc"
    ]


def test_every_service_singleton_is_named_after_its_class() -> None:
    singletons, _ = _checkout()
    assert len(singletons) >= 30  # the scan found the services (a wrong root finds none)
    assert misnamed(singletons) == []


def test_no_service_singleton_is_imported_under_another_name() -> None:
    singletons, sources = _checkout()
    assert aliased_imports(sources, singletons) == []
