"""The project's own files install what its code imports: a package that only arrived through
another one's requirements disappears when that one stops requiring it (httpx did, and
`servicemap run --demo` on a fresh clone failed to import the geocoder)."""

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CODE = ("src", "pipelines", "crawlers")
OWN = {"servicemap", "servicemap_crawlers", "pipelines"}


def imported_modules(path: Path) -> set[str]:
    """The top-level names `path` imports, anywhere in it (a function's own import too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_the_code_imports_is_a_runtime_dependency_of_its_own():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}
    distributions = packages_distributions()
    undeclared = {}
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for module in imported_modules(path) - OWN - set(sys.stdlib_module_names):
                providers = {canonicalize_name(name) for name in distributions.get(module, [])}
                if not providers & declared:
                    undeclared.setdefault(module, str(path.relative_to(ROOT)))
    assert not undeclared, f"imported, not in [project] dependencies (module: first importer): {undeclared}"
