"""One way to defer an import (docs/architecture.md, "Deferred imports"), checked on the source:

- no import statement inside a function or class, anywhere in functions/ or app.py (except
  ALLOWED, each with its reason);
- a deferred module is bound once at the top of its module, `name = lazy("module")` in the
  `else:` of an `if TYPE_CHECKING:` whose branch imports that same module as that same name (so
  mypy and the layers contract see the dependency);
- an `if TYPE_CHECKING:` branch holds imports only;
- `operation(...)` names no model: a view's models are its own annotations, and each resolves.

The time it buys is held by tests/unit/test_click_path_imports.py and docs/benchmarks.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

import functions.api.app  # noqa: F401  (registers every operation)
from functions.api import models
from functions.api import operations as ops

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "functions").rglob("*.py"), ROOT / "app.py"])

# (file, module) -> why the import must run inside a function: an import cycle lazy() cannot
# break, or an optional tool the deployment does not ship. The import carries the same reason
# as a one-line comment. None is needed today.
ALLOWED: dict[tuple[str, str], str] = {}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imported(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(name bound, module or module.attribute) for each name the import binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.asname or alias.name.split(".")[0], alias.name
    else:
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            yield alias.asname or alias.name, f"{base}.{alias.name}"


def _lazy_target(call: ast.AST) -> str | None:
    """The module of a `lazy("module")` call, "" for a lazy() call without one literal string."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "lazy"):
        return None
    if len(call.args) == 1 and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return ""


def _lazy_bindings(block: list[ast.stmt]) -> Iterator[tuple[str, str | None]]:
    """(name, module) per name an `else:` branch binds; module None when it is not a lazy() call."""
    for statement in block:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            yield ast.unparse(statement), None
            continue
        target, value = statement.targets[0], statement.value
        pairs = (
            zip(target.elts, value.elts, strict=False)
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
            else [(target, value)]
        )
        for name, call in pairs:
            yield ast.unparse(name), _lazy_target(call) or None


def _function_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    top: set[int] = set()
    for statement in tree.body:
        top.add(id(statement))
        if isinstance(statement, ast.If) and _is_type_checking(statement):
            top.update(id(n) for n in statement.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
            yield node


def test_no_module_is_imported_inside_a_function() -> None:
    found: dict[tuple[str, str], int] = {}
    for path in SOURCES:
        for node in _function_imports(_tree(path)):
            for _, module in _imported(node):
                found[(_rel(path), module)] = node.lineno
    unexplained = [
        f"{file}:{line} imports {module}"
        for (file, module), line in sorted(found.items())
        if (file, module) not in ALLOWED
    ]
    assert not unexplained, (
        "defer a module with lazy() at the top of the module (docs/architecture.md, Deferred imports); "
        "if it truly cannot be, add it to ALLOWED with the reason: " + ", ".join(unexplained)
    )
    assert set(ALLOWED) <= set(found), "ALLOWED names imports that are no longer there"


def test_each_lazy_module_is_bound_once_at_the_top_with_its_typed_twin() -> None:
    problems: list[str] = []
    bound = 0
    for path in SOURCES:
        tree = _tree(path)
        blocks = [n for n in tree.body if _is_type_checking(n)]
        for block in blocks:
            assert isinstance(block, ast.If)
            for statement in block.body:
                if not isinstance(statement, ast.Import | ast.ImportFrom):
                    problems.append(f"{_rel(path)}:{statement.lineno}: only imports under TYPE_CHECKING")
            typed = {
                name: module
                for s in block.body
                if isinstance(s, ast.Import | ast.ImportFrom)
                for name, module in _imported(s)
            }
            for name, module in _lazy_bindings(block.orelse):
                if module is None:
                    problems.append(
                        f'{_rel(path)}: `{name}` in the else of TYPE_CHECKING is not lazy("module")'
                    )
                elif typed.get(name) != module:
                    problems.append(
                        f"{_rel(path)}: {name} = lazy({module!r}) has no `import {module} as {name}` twin"
                    )
                else:
                    bound += 1
        twins = {id(c) for b in blocks if isinstance(b, ast.If) for s in b.orelse for c in ast.walk(s)}
        for node in ast.walk(tree):
            if _lazy_target(node) is not None and id(node) not in twins:
                line = getattr(node, "lineno", 0)
                problems.append(f"{_rel(path)}:{line}: lazy() belongs in the else of `if TYPE_CHECKING:`")
    assert not problems, "\n".join(problems)
    assert bound > 40  # the checker really saw the bindings


def test_the_checks_catch_a_function_import_and_an_untyped_lazy_binding() -> None:
    bad = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from functions.logic import surveys\n"
        "else:\n    surveys = lazy('functions.logic.scores')\n"
        "def f():\n    from functions.logic import tenants\n"
    )
    assert [m for n in _function_imports(bad) for _, m in _imported(n)] == ["functions.logic.tenants"]
    block = bad.body[1]
    assert isinstance(block, ast.If)
    assert list(_lazy_bindings(block.orelse)) == [("surveys", "functions.logic.scores")]


def _operation_calls(tree: ast.Module) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "operation":
                    yield decorator


def test_operation_names_no_model_the_signature_names_them() -> None:
    model_names = {
        name
        for name, value in vars(models).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    calls = 0
    for path in SOURCES:
        for call in _operation_calls(_tree(path)):
            calls += 1
            strings = {
                n.value for n in ast.walk(call) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            }
            assert not strings & model_names, f"{_rel(path)}:{call.lineno} names a model in operation(...)"
    assert calls >= 30
    # Every declared model resolves against functions.api.models.
    for op in ops.OPERATIONS:
        for name in (op.body, op.query, op.response):
            assert name is None or name in model_names, (op.name, name)


def test_a_view_annotation_that_names_no_model_fails_at_declaration() -> None:
    def view(caller: object, body: dict) -> None:  # type: ignore[type-arg]
        raise AssertionError

    view.__annotations__ = {"body": "dict[str, int]", "return": "Response"}
    with pytest.raises(TypeError, match="annotate 'body'"):
        ops.signature_models(view)
    view.__annotations__ = {"query": "m.PageQuery", "return": "Annotated[Response, m.SurveyPage]"}
    assert ops.signature_models(view) == (None, "PageQuery", "SurveyPage")
