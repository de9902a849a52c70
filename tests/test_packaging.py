"""Packaging: a regular (non-editable) install must contain every sub-package.

The README's first set-up command runs ``pip install .``; setuptools installs
only the packages listed in pyproject.toml, so a sub-package missing from that
list works in the editable test install but is absent for users (this
happened to ``gzc.codec.latent_search``). Also (issue 19): requires-python is
true of every module, every third-party import is a declared dependency, and
gzc-info prints a header with numpy and constriction unimportable.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:    # Python 3.10: tomli is the same parser (the test extra installs it there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: what the installed package is made of (bench/ and spec/ are scripts; tests/ needs the test extra)
PACKAGE_SOURCES = ["__init__.py", "codec", "formats", "tools", "weights"]


def test_every_subpackage_is_listed_in_pyproject():
    config = PYPROJECT["tool"]["setuptools"]
    listed = set(config["packages"])
    for name, folder in config["package-dir"].items():
        root = ROOT / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            if any(part.startswith(".") or part in {"tests", "build"} for part in rel.parts):
                continue
            if name == "gzc" and rel.parts and rel.parts[0] in {"codec", "formats", "tools", "weights", "spec",
                                                                "bench", "runs"}:
                continue  # mapped separately (or not a package)
            package = ".".join((name, *rel.parts))
            assert package in listed, f"{package} ({init.parent}) is missing from [tool.setuptools] packages"


def _sources(*roots: str):
    for root in map(ROOT.joinpath, roots):
        yield from [root] if root.is_file() else sorted(root.rglob("*.py"))


def _imports(tree: ast.AST):
    """(top-level module name, guarded) for every absolute import; guarded = inside a ``try``
    that catches ImportError, or its handler: the import or its fallback when a module is missing."""
    guarded_nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                h.type is None or any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
                                      for n in ast.walk(h.type)) for h in node.handlers):
            guarded_nodes |= {id(n) for stmt in [*node.body, *node.handlers] for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        for name in names:
            yield name.split(".")[0], id(node) in guarded_nodes


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_requires_python_is_true_of_every_module():
    """pyproject said >= 3.10 while a test imported tomllib (3.11+) unguarded. Every module of the
    package and the tests must parse as the oldest claimed Python, and a newer standard-library
    module may only be imported with a fallback that the test extra installs on older Pythons."""
    floor = tuple(map(int, re.fullmatch(r">=\s*(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"]).groups()))
    newer_stdlib = {"tomllib": ((3, 11), "tomli")}      # module: (added in, the PyPI backport)
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    for path in _sources(*PACKAGE_SOURCES, "tests", "bench", "spec"):
        tree = ast.parse(path.read_text(), str(path), feature_version=floor)
        for module, guarded in _imports(tree):
            if module in newer_stdlib and newer_stdlib[module][0] > floor:
                since, backport = newer_stdlib[module]
                assert guarded, f"{path.relative_to(ROOT)}: imports {module} (Python {since}) without a fallback"
                marker = f"python_version < '{since[0]}.{since[1]}'"
                assert any(r.replace('"', "'").replace(" ", "").startswith(backport)
                           and marker.replace(" ", "") in r.replace('"', "'").replace(" ", "") for r in test_extra), \
                    f"the test extra lacks {backport}; {marker}"


def test_every_third_party_import_is_declared():
    """tools/batch.py imported rich, which only some typer releases pull in. What the package
    imports must be a declared dependency (or extra), the standard library, or gzc itself."""
    declared = _requirement_names(PYPROJECT["project"]["dependencies"]
                                  + sum(PYPROJECT["project"]["optional-dependencies"].values(), []))
    distributions = importlib.metadata.packages_distributions()
    undeclared = set()
    for path in _sources(*PACKAGE_SOURCES):
        for module, guarded in _imports(ast.parse(path.read_text())):
            if module in sys.stdlib_module_names or module == "gzc":
                continue
            if module == "click" and guarded:
                continue     # the fallback for a typer that does not vendor click, and then requires it
            names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
            if not names & declared:
                undeclared.add(f"{module} ({path.relative_to(ROOT)})")
    assert not undeclared, f"imported but not declared in pyproject.toml: {sorted(undeclared)}"


#: run gzc-info as its console script does, with numpy, constriction and torch unimportable
#: (an install whose binary wheels are missing must still describe a file)
INFO_WITHOUT_NUMPY = """
import sys
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("numpy", "constriction", "torch"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, _Blocked())
sys.argv = ["gzc-info", *sys.argv[1:]]
from gzc.tools.info import main
main()
"""


def test_gzc_info_needs_neither_numpy_nor_constriction():
    """gzc-info crashed (exit 1, internal error) where numpy or constriction could not be imported:
    the model lookup pulled in the backend interface (numpy). It needs only the format reader."""
    run = [sys.executable, "-c", INFO_WITHOUT_NUMPY]
    vectors = ROOT / "spec" / "vectors"
    for name, model, size in (("rgb_48x32_b6_metadata.gzc", "ae-factorized-v1", ("48", "32")),
                              ("overfit_40x24_b4.gzc", "overfit-v1", ("40", "24"))):
        proc = subprocess.run([*run, str(vectors / name)], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        fields = dict(line.split(None, 1) for line in proc.stdout.splitlines())
        assert (fields["model"], (fields["width"], fields["height"]), fields["crc"]) == (model, size, "ok"), proc.stdout
    proc = subprocess.run([*run, "--models"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "overfit-v1" in proc.stdout and "ae-factorized-v1" in proc.stdout, proc.stderr


def test_set_up_commands_install_torch_from_the_cpu_wheel_index():
    """The README said its commands install PyTorch's CPU build, which plain PyPI gives only where
    pip is configured so (on Linux its torch is the CUDA build); and CI runs the second command."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Set-up", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.startswith("python3 -m pip")]
    assert len(commands) == 2, block
    for command in commands:
        torch_step = command.split(" && ")[0]
        assert re.fullmatch(r"python3 -m pip install torch==[\d.]+ --index-url https://download\.pytorch\.org/whl/cpu",
                            torch_step), torch_step
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci.replace("pip install -q ", "pip install ") == commands[1]
