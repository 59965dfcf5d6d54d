"""The import rules of docs/architecture.md, checked on the source: imports run one way between packages
(`cli → api → synth → train, eval → data → models → runs → catalogue → config, languages → io → errors`; the
package root, which exports the API, above them all), no module imports itself back through others (no circles),
no module imports another module's `_private` name, and only the command line (`crosslift.cli`) imports argparse.
One more rule keeps one resolver: only `crosslift.config` finds the bundled configs (crosslift/configs/) in the
package. Only `crosslift.train.hf_compat` touches transformers' private names (Trainer hooks, config attributes).

Every import counts, also one inside a function: a lazy import still ties the two modules together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "crosslift"
# A package or bottom module may import those of a lower rank only; equal ranks (train, eval) not each other.
# The package root ("": crosslift/__init__.py) exports the Python API (`api`, imported on first use), so it ranks
# at the top and no module imports it (the version is `crosslift.version`'s).
RANK = {
    "errors": 0,
    "console": 0,
    "version": 0,
    "io": 1,
    "config": 2,
    "languages": 2,
    "catalogue": 3,
    "runs": 4,
    "models": 5,
    "data": 6,
    "train": 7,
    "eval": 7,
    "synth": 8,
    "api": 9,
    "cli": 10,
    "__main__": 11,
    "": 11,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(module: str) -> list[tuple[str, str | None]]:
    """(imported crosslift module, name taken from it or None) for every import statement in `module`."""
    path = MODULES[module]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", None))
                elif target in MODULES:
                    found.append((target, alias.name))
    return [(t, name) for t, name in found if t != module]


def part(module: str) -> str:
    """The package (or bottom module) a module belongs to: crosslift.eval.runner -> eval."""
    return module.split(".")[1] if "." in module else ""


def test_every_part_has_a_rank():
    assert {part(m) for m in MODULES} <= set(RANK)


def test_imports_run_one_way_between_packages():
    upward = sorted(
        f"{m} imports {t}"
        for m in MODULES
        for t, _ in imports(m)
        if part(t) != part(m) and RANK[part(t)] >= RANK[part(m)]
    )
    assert not upward


def test_no_import_circles():
    graph = {m: {t for t, _ in imports(m)} for m in MODULES}
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                circles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in done:
                visit(target, path + [target])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert not circles


def test_no_module_imports_a_private_name_of_another():
    private = sorted(
        f"{m} imports {name} from {t}"
        for m in MODULES
        for t, name in imports(m)
        if name and name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    )
    assert not private


def imports_argparse(module: str) -> bool:
    """Whether `module` imports argparse (or a part of it) anywhere."""
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "argparse" for a in node.names):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and (node.module or "").split(".")[0] == "argparse"
        ):
            return True
    return False


def test_only_the_command_line_imports_argparse():
    assert imports_argparse("crosslift.cli")  # the check sees an import where there is one
    outside = sorted(m for m in MODULES if part(m) != "cli" and imports_argparse(m))
    assert not outside


def test_every_command_line_module_is_short():
    # cli/ parses arguments and calls one function; a long module there is library code in the wrong place.
    cli = PACKAGE / "cli"
    long = {
        p.name: n for p in cli.glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert not long


# ---------------------------------------------------------------------------------------------------- one resolver

# Calls that find a file by the package's location: importlib.resources.files / as_file, pkgutil.get_data,
# pkg_resources.resource_filename (with `__file__`, the other way to find one).
PACKAGE_FILE_CALLS = {"files", "as_file", "get_data", "resource_filename"}


def _scopes(tree: ast.Module) -> list[tuple[str, list[ast.AST]]]:
    """(name, nodes) of the module's code outside functions, and of each function (with the functions in it)."""
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    top, todo = [], list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            top.append(node)
            todo += ast.iter_child_nodes(node)
    return [("module level", top), *((f.name, list(ast.walk(f))) for f in functions)]


def _finds_package_files(node: ast.AST) -> bool:
    if isinstance(node, ast.Name) and node.id == "__file__":
        return True
    func = node.func if isinstance(node, ast.Call) else None
    return getattr(func, "attr", getattr(func, "id", None)) in PACKAGE_FILE_CALLS


def _names_the_configs_folder(node: ast.AST) -> bool:
    """A path string with a `configs` part ("configs", "configs/eval", "crosslift.configs"); prose (with spaces)
    is not a path."""
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
    return text is not None and not re.search(r"\s", text) and "configs" in re.split(r"[/\\.]", text)


def modules_locating_bundled_configs() -> list[str]:
    """'module: scope' for each scope that finds a package file and names the configs folder."""
    found = []
    for module, path in sorted(MODULES.items()):
        for scope, nodes in _scopes(ast.parse(path.read_text(encoding="utf-8"))):
            if any(map(_finds_package_files, nodes)) and any(map(_names_the_configs_folder, nodes)):
                found.append(f"{module}: {scope}")
    return found


def test_only_the_config_module_locates_bundled_configs():
    """`crosslift.config.resolve_config` is the one way to a bundled config (by path or by name)."""
    assert [m for m in modules_locating_bundled_configs() if m.split(":")[0] != "crosslift.config"] == []
    assert "crosslift.config: bundled_configs" in modules_locating_bundled_configs()  # the check sees it


# ---------------------------------------------------------------------------------------------------- transformers

HF_ADAPTER = "crosslift.train.hf_compat"
# The private names of transformers (and torch's LR scheduler) that the recipes need, each reached in the adapter
# alone under a public name (docs/architecture.md, Training): a transformers upgrade that changes one fails
# tests/train/test_hf_compat.py instead of a run.
HF_PRIVATE_NAMES = {
    "_get_train_sampler",
    "_track_num_input_tokens",
    "_save",
    "_load_from_checkpoint",
    "_attn_implementation",
    "_last_lr",
}
LIBRARIES = {"transformers", "torch", "accelerate", "peft", "deepspeed"}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def uses_of(module: str, names: set[str]) -> list[str]:
    """`module:line name` for each attribute, method or string (a getattr) in `module` named in `names`."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = node.name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        else:
            continue
        if name in names:
            found.append(f"{module}:{node.lineno} {name}")
    return found


def test_only_the_adapter_touches_the_private_names_of_transformers():
    outside = sorted(use for m in MODULES if m != HF_ADAPTER for use in uses_of(m, HF_PRIVATE_NAMES))
    assert not outside
    # The list is what the adapter reaches: a name it stops using leaves the list too.
    assert {use.split()[-1] for use in uses_of(HF_ADAPTER, HF_PRIVATE_NAMES)} == HF_PRIVATE_NAMES


def library_classes(trees: dict[str, ast.Module]) -> set[str]:
    """Classes of these modules that derive from a library's class (`class X(Trainer)`), directly or through
    another of them (`class BridgeTrainer(RecipeTrainer)`)."""
    imported = {
        alias.asname or alias.name
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LIBRARIES
        for alias in node.names
    }
    classes = [node for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    derived: set[str] = set()
    while True:
        more = {
            c.name
            for c in classes
            if any(
                (b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None)
                in imported | derived
                for b in c.bases
            )
        }
        if more <= derived:
            return derived
        derived |= more


def test_the_recipes_reach_no_private_name_of_a_library_outside_the_adapter():
    """In train/, outside the adapter: no private method defined in a class derived from a library's (an override
    of a private hook), and no `x._name` but of a name the module defines itself (`super()._save`,
    `trainer._get_dataloader`, `self._tr_loss` in a Trainer subclass, `config._attn_implementation` all fail)."""
    trees = {
        m: ast.parse(MODULES[m].read_text(encoding="utf-8"))
        for m in MODULES
        if part(m) == "train" and m != HF_ADAPTER
    }
    derived = library_classes(trees)
    found = []
    for module, tree in trees.items():
        library = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name in derived]
        overrides = [
            (c, f) for c in library for f in c.body if isinstance(f, ast.FunctionDef) and is_private(f.name)
        ]
        found += [f"{module}:{f.lineno} {c.name}.{f.name}" for c, f in overrides]
        # What the module defines itself: its private functions and classes, and the private state of its classes
        # that derive from no library's.
        own = {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.ClassDef)
            and is_private(n.name)
            and n not in {f for _, f in overrides}
        }
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name not in derived):
            own |= {
                t.attr
                for n in ast.walk(cls)
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            }
        found += [
            f"{module}:{n.lineno} .{n.attr}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and is_private(n.attr) and n.attr not in own
        ]
    assert not sorted(found)
