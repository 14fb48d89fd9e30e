"""Imports flow one way: no two of the project's modules import each other, directly
or through others. The import-linter contracts in pyproject.toml say which way; this
says there is no way back anywhere, among the modules the contracts do not list too."""

import grimp

PACKAGES = [
    "accounts", "api", "common", "config", "demo", "digests", "evidence", "mailer", "tracker",
    "webhooks",
]  # fmt: skip


def import_cycles(graph):
    """The groups of modules that reach each other through imports (Tarjan's
    strongly connected components, iterative), each sorted, largest first."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append(
                        (other, iter(sorted(graph.find_modules_directly_imported_by(other))))
                    )
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return sorted(cycles, key=len, reverse=True)


def test_no_two_project_modules_import_each_other():
    graph = grimp.build_graph(*PACKAGES)
    assert import_cycles(graph) == []


def test_it_would_see_a_cycle():
    graph = grimp.build_graph(*PACKAGES)
    graph.add_import(importer="mailer.models", imported="tracker.models")
    assert ["mailer.models", "tracker.models"] in import_cycles(graph)
