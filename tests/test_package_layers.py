"""The package's layers point one way: the core imports only the standard library and torch, and
no module imports (even inside a function) one that imports it back."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'gdpseg'


def _modules():
    """``{dotted name: (path, is_package)}`` of every module of gdpseg."""
    found = {}
    for path in PACKAGE.rglob('*.py'):
        parts = list(path.relative_to(ROOT).with_suffix('').parts)
        is_package = parts[-1] == '__init__'
        if is_package:
            parts = parts[:-1]
        found['.'.join(parts)] = (path, is_package)
    return found


def _imports(name, path, is_package):
    """Every module name an ``import`` of this file names (relative ones resolved), with the
    names ``from X import a, b`` imports as ``X.a``, ``X.b`` candidates."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split('.') if is_package else name.split('.')[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = '.'.join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ''
            yield module, tuple(a.name for a in node.names)


def _internal_edges(modules):
    edges = {m: set() for m in modules}
    for name, (path, is_package) in modules.items():
        for module, names in _imports(name, path, is_package):
            targets = [f'{module}.{n}' for n in names if f'{module}.{n}' in modules] or [module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition('.')[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def _cycles(edges):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def _outside(names, allowed_prefixes):
    """Imports of the modules ``names`` that are neither the standard library, torch, nor
    under one of ``allowed_prefixes``."""
    modules = _modules()
    allowed = set(sys.stdlib_module_names) | {'torch'}
    wrong = []
    for name in names:
        path, is_package = modules[name]
        for module, _ in _imports(name, path, is_package):
            if module.split('.')[0] in allowed or module.startswith(allowed_prefixes):
                continue
            wrong.append(f'{name} imports {module}')
    return wrong


def test_the_core_imports_only_the_standard_library_and_torch():
    core = [m for m in _modules() if m.startswith('gdpseg.core')]
    assert len(core) > 10
    assert not _outside(core, ('gdpseg.core',))


def test_gdps_gates_proximal_step_and_schedule_are_plain_pytorch_on_the_core():
    # what docs/core.md shows used without a Runner: no MMEngine below the algorithm
    names = ['gdpseg.methods.gdp.gates', 'gdpseg.methods.gdp.prox', 'gdpseg.methods.gdp.schedule']
    assert not _outside(names, ('gdpseg.core', 'gdpseg.methods.gdp.'))
    # and the check can fail: the algorithm file is MMEngine glue
    assert _outside(['gdpseg.methods.gdp.algorithm'], ('gdpseg.core', 'gdpseg.methods.gdp.'))


def test_the_package_has_no_import_cycle():
    cycles = _cycles(_internal_edges(_modules()))
    assert not cycles, cycles


def test_imports_inside_functions_count_and_cycles_are_found(tmp_path):
    source = tmp_path / 'mod.py'
    source.write_text('import os\n\ndef f():\n    from ..models import exported\n')
    found = list(_imports('gdpseg.engine.mod', source, False))
    assert ('os', ()) in found and ('gdpseg.models', ('exported',)) in found
    assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert _cycles({'a': {'b'}, 'b': set()}) == []
