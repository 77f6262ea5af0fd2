"""The house's shape, read from the source (no import, no Blender): which package may import
which, no import cycle in core, no private name used outside its module."""
import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_DIRS = {"tests", "bench", "demo", "docs", "tools", "farm", "__pycache__"}


def _modules():
    """``{dotted name: path}`` of every module of the extension ('' is the root package)."""
    out = {}
    for root, dirs, files in os.walk(REPO):
        rel = os.path.relpath(root, REPO)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in (SKIP_DIRS if rel == "." else {"__pycache__"})]
        for name in files:
            if name.endswith(".py"):
                parts = [] if rel == "." else rel.split(os.sep)
                stem = name[:-3]
                out[".".join(parts + ([] if stem == "__init__" else [stem]))] = os.path.join(root, name)
    return out


MODULES = _modules()


def _package_of(module):
    is_package = os.path.basename(MODULES[module]) == "__init__.py"
    return module if is_package else module.rpartition(".")[0]


def _imports(module):
    """``[(imported module, [names], line)]`` of ``module``: relative imports resolved, absolute
    ones (``depth_cloud.x``) mapped into the repository; other packages left out."""
    tree = ast.parse(open(MODULES[module], encoding="utf-8").read())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module).split(".") if _package_of(module) else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "depth_cloud":
                target = node.module.partition(".")[2]
            else:
                continue
            names = [a.name for a in node.names]
            # ``from . import x``: x is a module when one exists
            for name in names:
                sub = f"{target}.{name}" if target else name
                if sub in MODULES:
                    out.append((sub, [], node.lineno))
            out.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "depth_cloud":
                    out.append((alias.name.partition(".")[2], [], node.lineno))
    return out


def test_glue_and_core_never_import_the_command_line():
    assert "cli" in MODULES, "the cli package is missing"
    wrong = [f"{m} (line {line}) imports {target}"
             for m in MODULES if m.split(".")[0] in ("glue", "core")
             for target, _, line in _imports(m) if target == "cli" or target.startswith("cli.")]
    assert not wrong, "; ".join(wrong)
