"""The house's shape, read from the source (no import, no Blender): which package may import
which, the wings of core/ and glue/ on their floors (imports only run downward), no import
cycle anywhere (imports for type hints and inside functions count: a reader sees them as one),
no private name used outside its module."""
import ast
import os

import paths

REPO = paths.REPO
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


def _runtime_nodes(tree):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.If)
                    and getattr(child.test, "id", getattr(child.test, "attr", "")) == "TYPE_CHECKING"):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(module, type_only=False):
    """``[(imported module, [names], line)]`` of ``module``: relative imports resolved, absolute
    ones (``depth_cloud.x``) mapped into the repository; other packages left out.
    ``type_only``: also the imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(open(MODULES[module], encoding="utf-8").read())
    out = []
    for node in (ast.walk(tree) if type_only else _runtime_nodes(tree)):
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


def _cycle(graph):
    """One import cycle of ``graph`` (``{module: {imported modules}}``) as a list, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def _graph(modules, type_only=True):
    """``{module: {modules it imports}}`` over ``modules``. ``from . import x`` ties a module to
    ``x``, not to the package it names (unless it imports a name the package itself defines)."""
    graph = {}
    for m in modules:
        edges = set()
        for target, names, _ in _imports(m, type_only=type_only):
            if names and all((f"{target}.{n}" if target else n) in MODULES for n in names):
                continue  # only submodules imported: the edges to them were added on their own
            if target in modules and target != m:
                edges.add(target)
        graph[m] = edges
    return graph


def test_no_import_cycle_anywhere():
    """No cycle among the extension's modules, counting every import: at run time, inside
    functions (a lazy import still ties the modules) and for type hints only."""
    cycle = _cycle(_graph(set(MODULES) - {""}))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


#: The wings of core/ and glue/, floor by floor from the bottom. A module imports only from its
#: own wing, from wings on lower floors, and from the floors' shared modules below it; never
#: from a wing beside it or above it. Every module of core/ and glue/ is on a floor.
FLOORS = (
    ("core.errors",),                                       # typed errors
    ("core.fileio", "core.frames"),                         # atomic files, frame patterns
    ("core.diagnostics",),                                  # the warnings every result carries
    ("core.exr", "core.images", "core.camera"),             # reading EXRs, depth images; the projection model
    ("core.points",),                                       # passes -> points
    ("core.checks", "core.fusion", "core.sequence", "core.output"),
    ("core",),                                              # the package's exported names
    ("glue.compat", "glue.progress", "glue.images", "glue.frames", "glue.preferences", "glue.validate"),
    ("glue.memory",),                                       # freed memory kept for the next cloud
    ("glue.camera", "glue.datablock"),                      # Blender camera -> CameraModel; PointSet -> datablock
    ("glue.source", "glue.views", "glue.display", "glue.importing"),  # what to read; how clouds look; imports
    ("glue.masks", "glue.inputs", "glue.objects", "glue.captured"),  # frame inputs; cloud objects; captured paths
    ("glue.checks",),                                       # camera check, picking
    ("glue.build",),
    ("glue.sequence", "glue.fusion", "glue.output"),
)


def wing_of(module, floors=FLOORS):
    """``(floor index, wing)`` of a module of core/ or glue/, or None."""
    best = None
    for index, wings in enumerate(floors):
        for wing in wings:
            if (module == wing or module.startswith(wing + ".")) and (best is None or len(wing) > len(best[1])):
                best = (index, wing)
    return best


def upward_imports(graph, floors=FLOORS):
    """``["a imports b (upward|sideways)"]``: imports between wings that do not run downward."""
    wrong = []
    for m, targets in sorted(graph.items()):
        mine = wing_of(m, floors)
        if mine is None:
            continue
        for t in sorted(targets):
            theirs = wing_of(t, floors)
            if theirs is None or theirs[1] == mine[1]:
                continue
            if theirs[0] > mine[0]:
                wrong.append(f"{m} imports {t} (upward: {mine[1]} is below {theirs[1]})")
            elif theirs[0] == mine[0]:
                wrong.append(f"{m} imports {t} (sideways: {mine[1]} and {theirs[1]} share a floor)")
    return wrong


def test_every_core_and_glue_module_is_on_a_floor():
    lost = [m for m in MODULES if m.split(".")[0] in ("core", "glue") and m not in ("glue",) and wing_of(m) is None]
    assert not lost, "modules on no floor of FLOORS (place them): " + ", ".join(sorted(lost))


def test_imports_between_wings_only_run_downward():
    core_glue = {m for m in MODULES if m.split(".")[0] in ("core", "glue")}
    wrong = upward_imports(_graph(core_glue))
    assert not wrong, "; ".join(wrong)


def test_the_floor_check_finds_upward_and_sideways_imports():
    floors = (("a.base",), ("a.low", "a.side"), ("a.high",))
    assert upward_imports({"a.low.x": {"a.base.y", "a.low.z"}, "a.high.h": {"a.low.x"}}, floors) == []
    assert upward_imports({"a.low.x": {"a.high.h"}}, floors) == [
        "a.low.x imports a.high.h (upward: a.low is below a.high)"]
    assert upward_imports({"a.low.x": {"a.side.s"}}, floors) == [
        "a.low.x imports a.side.s (sideways: a.low and a.side share a floor)"]


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_uses_another_modules_private_names():
    """``from .x import _name`` or ``x._name`` on an imported module of the extension."""
    wrong = []
    for m in MODULES:
        imports = _imports(m)
        wrong += [f"{m} (line {line}) imports {target}.{name}" for target, names, line in imports
                  for name in names if _private(name) and f"{target}.{name}" not in MODULES]
        # names bound to modules of the extension in this file
        bound = {}
        tree = ast.parse(open(MODULES[m], encoding="utf-8").read())
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.ImportFrom):
                for target, names, _ in [i for i in imports if i[2] == node.lineno]:
                    for alias in node.names:
                        full = f"{target}.{alias.name}" if target else alias.name
                        if not names and target == full or full in MODULES:
                            bound[alias.asname or alias.name] = full
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and _private(node.attr)):
                wrong.append(f"{m} (line {node.lineno}) uses {bound[node.value.id]}.{node.attr}")
    assert not wrong, "; ".join(sorted(set(wrong)))
