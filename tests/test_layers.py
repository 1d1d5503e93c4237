"""hostd's imports point one way (hostd/__init__.py LAYERS).

Every import in hostd/, those inside functions included, is read with `ast`:
- a module imports from its own room or a room below it, never above;
- there is no import cycle between hostd modules;
- an import inside a function carries a "# lazy:" comment saying why.
"""

import ast
from pathlib import Path

import pytest

import hostd
from conftest import ROOT

HOSTD = ROOT / "hostd"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room(module):
    """The room of hostd.X[.Y...]: X (a folder, or daemon)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def modules():
    return {module_name(path): path for path in sorted(HOSTD.rglob("*.py"))}


def resolve(target, known):
    """The hostd module an import names: the longest known prefix."""
    while target not in known and "." in target:
        target = target.rsplit(".", 1)[0]
    return target if target in known else None


def imports(path, known):
    """[(line, imported hostd module, inside a function)] of one file."""
    tree = ast.parse(path.read_text())
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(sub) for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module + "." + alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "hostd" or name.startswith("hostd."):
                target = resolve(name, known)
                if target:
                    found.append((node.lineno, target, id(node) in inside))
    return found


def graph():
    known = modules()
    return known, {name: imports(path, known) for name, path in known.items()}


def back_imports(known, edges):
    order = {name: i for i, name in enumerate(hostd.LAYERS)}
    wrong = []
    for name, found in edges.items():
        here = room(name)
        if here is None:
            continue  # hostd/__init__.py: the map, imports nothing
        for line, target, _inside in found:
            there = room(target)
            if there is not None and order[there] > order[here]:
                wrong.append("%s:%d imports %s (%s is above %s)" % (known[name], line, target, there, here))
    return wrong


def cycles(edges):
    """Each import cycle once, as a list of modules."""
    graph_ = {
        name: sorted({target for _, target, _ in found if target != name}) for name, found in edges.items()
    }
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph_.get(node, []):
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
                out.append(sorted(component))

    for node in sorted(graph_):
        if node not in index:
            visit(node)
    return out


def unexplained_lazy_imports(known, edges):
    """Function-level imports (of anything) without a "# lazy:" comment on
    the line or in the import block right above it."""
    wrong = []
    for path in known.values():
        lines = path.read_text().split("\n")
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if not isinstance(sub, (ast.Import, ast.ImportFrom)):
                    continue
                at = sub.lineno - 1
                explained = "# lazy" in lines[at]
                while not explained and at > 0:
                    at -= 1
                    above = lines[at].strip()
                    if above and not above.startswith(("#", "import ", "from ")):
                        break
                    explained = above.startswith("# lazy")
                if not explained:
                    wrong.append("%s:%d %s" % (path, sub.lineno, lines[sub.lineno - 1].strip()))
    return sorted(set(wrong))


def test_every_room_is_in_the_layer_list():
    known = modules()
    rooms = {room(name) for name in known if room(name)}
    assert rooms == set(hostd.LAYERS), rooms ^ set(hostd.LAYERS)


def test_imports_point_downward():
    known, edges = graph()
    assert back_imports(known, edges) == []


def test_no_import_cycles():
    _known, edges = graph()
    assert cycles(edges) == []


def test_imports_inside_functions_say_why():
    known, edges = graph()
    assert unexplained_lazy_imports(known, edges) == []


def test_the_checks_catch_a_back_import_and_a_cycle(tmp_path):
    """The checks themselves: a rules module importing the web, and two
    modules importing each other, are both found."""
    known = {"hostd.rules.a": tmp_path / "a.py", "hostd.web.b": tmp_path / "b.py"}
    known["hostd.rules.a"].write_text("def f():\n    from hostd.web import b\n")
    known["hostd.web.b"].write_text("from hostd.rules import a\n")
    edges = {name: imports(path, known) for name, path in known.items()}
    rules_a = known["hostd.rules.a"]
    assert back_imports(known, edges) == ["%s:2 imports hostd.web.b (web is above rules)" % rules_a]
    assert cycles(edges) == [["hostd.rules.a", "hostd.web.b"]]
    assert unexplained_lazy_imports(known, edges) == ["%s:2 from hostd.web import b" % rules_a]


@pytest.mark.parametrize("package", ["protocol", "firmware"])
def test_device_code_never_imports_hostd(package):
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("hostd", "simulator")), (path, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith(("hostd", "simulator")) for a in node.names), path
