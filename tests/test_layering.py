"""The package's import layering, read from the source with ``ast`` (nothing is imported).

Fails on: an import cycle between modules; a module importing from a higher layer; a private
name (``_x``) imported from another package (also by ``benchmarks/`` and ``scripts/``); and,
inside ``bench/``, planning or reporting importing the execution. Function-level and
type-checking imports count: they are dependencies all the same. docs/architecture.md explains
the layers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "src" / "reason2decide"
PACKAGE = "reason2decide"

#: Layers from the bottom up; a module may import from its own layer and those below. The
#: first layer holds the package itself and its small top-level modules. ``llm`` (a client of
#: a remote LLM server: teacher rationales, zero-shot answers, judging) needs only data, and
#: evaluation and bench use it, so it sits just above data. ``serve`` (a page and API around a
#: Predictor) needs inference and the model card only, and nothing but the CLI uses it.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "",  # reason2decide/__init__.py
        "errors",
        "io",
        "prompts",
        "generation",
        "hardware",
        "metric_names",
        "label_metrics",
        "distributed",
    ),
    ("data",),
    ("llm",),
    ("backbones",),
    ("methods",),
    ("training",),
    ("inference",),
    ("serve",),
    ("evaluation",),
    ("bench",),
    ("cli",),
)

#: Inside bench/: the shared parts, then planning, then reporting, then execution (which runs
#: the plan and calls the reports); the package's __init__ re-exports all of them.
BENCH_LAYERS: tuple[tuple[str, ...], ...] = (
    ("spec", "aggregate", "significance", "variants", "zero_shot", "examples", "baselines"),
    ("plan",),
    ("comparisons", "markdown", "report", "plots"),
    ("execute",),
    ("",),
)

#: Upward imports known and waiting for their fix, with the reason. An entry that no longer
#: matches an import fails the test, so the list only shrinks.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    target: str  # module name (a module or package of the project)
    names: tuple[str, ...]  # the names of a from-import
    where: str  # path:line


def module_name(path: Path, package_dir: Path) -> str:
    parts = path.relative_to(package_dir).with_suffix("").parts
    return ".".join((PACKAGE, *parts)).removesuffix(".__init__")


def project_modules(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}


def read_imports(path: Path, importer: str, is_package: bool, modules: set[str]) -> list[Import]:
    """Every import of a project module in ``path`` (at any depth of the syntax tree)."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.name if not path.is_relative_to(ROOT) else str(path.relative_to(ROOT))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = importer.split(".")
                if not is_package:
                    parts = parts[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = tuple(a.name for a in node.names)
            # ``from pkg import module`` imports the module; ``from module import name`` the module
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
            for target in submodules or ([base] if base in modules else []):
                found.append(Import(importer, target, names, f"{where}:{node.lineno}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.append(Import(importer, alias.name, (), f"{where}:{node.lineno}"))
    return found


def project_imports(package_dir: Path = PACKAGE_DIR) -> list[Import]:
    modules = project_modules(package_dir)
    names = set(modules)
    imports = []
    for name, path in modules.items():
        imports += read_imports(path, name, path.name == "__init__.py", names)
    return imports


def layer_of(module: str, layers: tuple[tuple[str, ...], ...], prefix: str) -> int:
    """The index of ``module``'s layer: its first component below ``prefix``."""
    rest = module.removeprefix(prefix).removeprefix(".")
    head = rest.split(".")[0] if module != prefix else ""
    for index, members in enumerate(layers):
        if head in members:
            return index
    raise AssertionError(
        f"{module} is in no layer: add {head or module!r} to the layers in tests/test_layering.py "
        "and to docs/architecture.md"
    )


def upward_imports(
    imports: list[Import], layers: tuple[tuple[str, ...], ...], prefix: str
) -> list[Import]:
    inside = [i for i in imports if i.importer.startswith(prefix) and i.target.startswith(prefix)]
    return [
        i
        for i in inside
        if layer_of(i.target, layers, prefix) > layer_of(i.importer, layers, prefix)
    ]


def cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        if i.target != i.importer:
            graph.setdefault(i.importer, set()).add(i.target)
            graph.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(imports: list[Import]) -> str:
    return "\n".join(f"  {i.where}: {i.importer} imports {i.target}" for i in imports)


# ---------------------------------------------------------------------- the checks
def test_no_import_cycles():
    found = cycles(project_imports())
    assert not found, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in found)


def test_no_module_imports_from_a_higher_layer():
    upward = upward_imports(project_imports(), LAYERS, PACKAGE)
    unknown = [i for i in upward if (i.importer, i.target) not in KNOWN_UPWARD]
    assert not unknown, "imports from a higher layer:\n" + describe(unknown)
    stale = set(KNOWN_UPWARD) - {(i.importer, i.target) for i in upward}
    assert not stale, f"fixed, remove from KNOWN_UPWARD: {sorted(stale)}"


def test_bench_plans_and_reports_without_the_execution():
    upward = upward_imports(project_imports(), BENCH_LAYERS, f"{PACKAGE}.bench")
    assert not upward, "bench imports against its one-way order:\n" + describe(upward)


def test_no_private_name_is_imported_from_another_package():
    modules = project_modules()
    names = set(modules)
    imports = project_imports()
    for folder in ("benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            imports += read_imports(path, f"{folder}.{path.stem}", False, names)

    def package(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if parts[0] == PACKAGE else parts[0]

    private = [
        i
        for i in imports
        if package(i.importer) != package(i.target)
        and any(n.startswith("_") and not n.startswith("__") for n in i.names)
    ]
    assert not private, "private names imported across packages:\n" + describe(private)


# ---------------------------------------------------------------------- the checker itself
def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_finds_a_cycle_an_upward_import_and_a_function_level_one(tmp_path):
    fake = tmp_path / PACKAGE
    write(
        fake,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "data/a.py": "def f():\n    from reason2decide.methods.m import g\n",
            "methods/__init__.py": "",
            "methods/m.py": "from reason2decide.data import a\n",
            "bench/__init__.py": "",
            "bench/plan.py": "from ..bench.execute import run\n",
            "bench/execute.py": "from reason2decide.bench import plan\n",
        },
    )
    imports = project_imports(fake)
    assert {tuple(c) for c in cycles(imports)} == {
        ("reason2decide.data.a", "reason2decide.methods.m"),
        ("reason2decide.bench.execute", "reason2decide.bench.plan"),
    }
    upward = upward_imports(imports, LAYERS, PACKAGE)
    assert [(i.importer, i.target) for i in upward] == [
        ("reason2decide.data.a", "reason2decide.methods.m")
    ]
    bench = upward_imports(imports, BENCH_LAYERS, f"{PACKAGE}.bench")
    assert [(i.importer, i.target) for i in bench] == [
        ("reason2decide.bench.plan", "reason2decide.bench.execute")
    ]
