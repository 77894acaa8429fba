"""The interface the installed greengrasssdk uses from the core-only modules, pinned.

The SDK's sources are read with ``ast`` (not imported) to find every name it imports from
``greengrass_common`` / ``greengrass_ipc_python_sdk`` and every call, attribute read and
``except`` it makes with them. Two checks follow:

* what was found must equal :data:`PINNED_USES`, so an SDK upgrade that uses something new (or
  stops using something) fails here and says what changed;
* every use must work on our modules: the names exist, the calls bind to our signatures, the
  attributes exist on what our functions return.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import inspect
import typing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SDK = "greengrasssdk"
SDK_VERSION = "1.6.1"
CORE_PACKAGES = ("greengrass_common", "greengrass_ipc_python_sdk")

_ENV = "greengrass_common.env_vars"
_ARN = "greengrass_common.function_arn_fields.FunctionArnFields"
_IPC = "greengrass_ipc_python_sdk.ipc_client"

#: What greengrasssdk 1.6.1 uses, as ``kind symbol``. Calls show their arguments as ``_`` for
#: a positional one and ``name=`` for a keyword; ``X()`` is what calling ``X`` returns.
PINNED_USES = frozenset(
    {
        f"import {_ENV}.MY_FUNCTION_ARN",
        f"import {_ENV}.ROUTER_FUNCTION_ARN",
        f"import {_ENV}.SECRETS_MANAGER_FUNCTION_ARN",
        f"import {_ENV}.SHADOW_FUNCTION_ARN",
        f"import {_ARN}",
        f"import {_IPC}.IPCClient",
        f"import {_IPC}.IPCException",
        f"call {_ARN}(_)",
        f"call {_ARN}.build_function_arn(_, _)",
        f"attr {_ARN}().qualifier",
        f"attr {_ARN}().unqualified_arn",
        f"call {_IPC}.IPCClient(endpoint=)",
        f"call {_IPC}.IPCClient().post_work(_, _, _, _)",
        f"call {_IPC}.IPCClient().get_work_result(_, _)",
        f"attr {_IPC}.IPCClient().get_work_result().func_err",
        f"attr {_IPC}.IPCClient().get_work_result().payload",
        f"except {_IPC}.IPCException",
    }
)

#: How to build an instance of one of our classes whose instance attributes the SDK reads.
SAMPLE_INSTANCES: dict[str, Callable[[type], object]] = {
    "FunctionArnFields": lambda cls: cls("arn:aws:lambda:us-east-1:123456789012:function:f:1"),
}


# --- reading the SDK ----------------------------------------------------------------------


def sdk_source_dir() -> Path:
    spec = importlib.util.find_spec(SDK)
    assert spec is not None and spec.origin is not None, f"{SDK} is not installed"
    return Path(spec.origin).parent


def _call_shape(call: ast.Call) -> str:
    parts = ["*" if isinstance(arg, ast.Starred) else "_" for arg in call.args]
    parts += [f"{kw.arg}=" if kw.arg else "**" for kw in call.keywords]
    return ", ".join(parts)


class _UseFinder:
    """Follows names bound to core symbols through one module and records what is done."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.uses: set[str] = set()
        self.module_names: dict[str, str] = {}

    def run(self) -> set[str]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] in CORE_PACKAGES:
                    for alias in node.names:
                        symbol = f"{node.module}.{alias.name}"
                        self.uses.add(f"import {symbol}")
                        self.module_names[alias.asname or alias.name] = symbol
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in CORE_PACKAGES:
                        self.uses.add(f"import {alias.name}")
                        self.module_names[alias.asname or alias.name.split(".")[0]] = (
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
        self._scope(self.tree, dict(self.module_names), {})
        return self.uses

    def _scope(self, scope: ast.AST, names: dict[str, str], self_attrs: dict[str, str]) -> None:
        body = [node for node in ast.walk(scope) if node is not scope]
        for node in body:
            if isinstance(node, ast.ClassDef):
                attrs = self._self_attributes(node, names)
                for method in node.body:
                    if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                        self._function(method, names, attrs)
        if isinstance(scope, ast.Module):
            for node in scope.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self._function(node, names, {})

    def _self_attributes(self, cls: ast.ClassDef, names: dict[str, str]) -> dict[str, str]:
        attrs: dict[str, str] = {}
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        value = self._symbol(node.value, names, attrs, record=False)
                        if value:
                            attrs[target.attr] = value
        return attrs

    def _function(
        self, function: ast.AST, outer: dict[str, str], self_attrs: dict[str, str]
    ) -> None:
        names = dict(outer)
        for node in ast.walk(function):  # flow-insensitive: enough for straight-line SDK code
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    value = self._symbol(node.value, names, self_attrs, record=False)
                    if value:
                        names[target.id] = value
        called = {id(node.func) for node in ast.walk(function) if isinstance(node, ast.Call)}
        for node in ast.walk(function):
            if isinstance(node, ast.Call) or (
                isinstance(node, ast.Attribute) and id(node) not in called
            ):
                self._symbol(node, names, self_attrs, record=True)
            elif isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                for expression in caught:
                    symbol = self._symbol(expression, names, self_attrs, record=False)
                    if symbol:
                        self.uses.add(f"except {symbol}")

    def _symbol(
        self, node: ast.AST, names: dict[str, str], self_attrs: dict[str, str], *, record: bool
    ) -> str | None:
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return self_attrs.get(node.attr)
            base = self._symbol(node.value, names, self_attrs, record=False)
            if base is None:
                return None
            if record and base.endswith("()"):
                self.uses.add(f"attr {base}.{node.attr}")
            return f"{base}.{node.attr}"
        if isinstance(node, ast.Call):
            function = self._symbol(node.func, names, self_attrs, record=False)
            if function is None:
                return None
            if record:
                self.uses.add(f"call {function}({_call_shape(node)})")
            return f"{function}()"
        return None


def sdk_uses() -> set[str]:
    uses: set[str] = set()
    for source in sorted(sdk_source_dir().rglob("*.py")):
        with warnings.catch_warnings():  # the SDK has regexes with invalid escapes
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source.read_text(encoding="utf-8"))
        uses |= _UseFinder(tree).run()
    return uses


# --- resolving a use against our modules --------------------------------------------------


@dataclass
class Resolved:
    value: Any
    is_instance_of: type | None = None  # set when the symbol stands for an instance
    needs_self: bool = False  # a plain method looked up on its class


def _return_type(function: Any, symbol: str) -> type:
    hints = typing.get_type_hints(function)
    assert "return" in hints, f"{symbol}: our implementation has no return annotation"
    return hints["return"]


def resolve(symbol: str) -> Resolved:
    parts = symbol.split(".")
    for split in range(len(parts), 0, -1):
        try:
            current = Resolved(importlib.import_module(".".join(parts[:split])))
        except ImportError:
            continue
        break
    else:
        raise AssertionError(f"{symbol}: no module of ours to start from")
    for part in parts[split:]:
        name, calls = part.removesuffix("()"), part.endswith("()")
        owner = current.is_instance_of
        if owner is None:
            assert hasattr(current.value, name), f"{symbol}: ours has no {name!r}"
            value, needs_self = getattr(current.value, name), False
        elif hasattr(owner, name):
            static = inspect.getattr_static(owner, name)
            value = getattr(owner, name)
            needs_self = inspect.isfunction(static)
        else:
            make = SAMPLE_INSTANCES.get(owner.__name__)
            assert make, f"{symbol}: add a sample {owner.__name__} to SAMPLE_INSTANCES"
            sample = make(owner)
            assert hasattr(sample, name), f"{symbol}: our {owner.__name__} has no {name!r}"
            value, needs_self = getattr(sample, name), False
        current = Resolved(value, needs_self=needs_self)
        if calls:
            made = value if inspect.isclass(value) else _return_type(value, symbol)
            current = Resolved(None, is_instance_of=made)
    return current


def check_use(use: str) -> None:
    kind, symbol = use.split(" ", 1)
    if kind == "import" or kind == "attr":
        resolve(symbol)
    elif kind == "except":
        caught = resolve(symbol).value
        assert inspect.isclass(caught) and issubclass(caught, Exception), f"{symbol}: not an error"
    elif kind == "call":
        target, shape = symbol[: symbol.rindex("(")], symbol[symbol.rindex("(") + 1 : -1]
        callee = resolve(target)
        args = [part for part in shape.split(", ") if part]
        positional = [None] * sum(part == "_" for part in args)
        keywords = {part[:-1]: None for part in args if part.endswith("=")}
        if callee.needs_self:
            positional.insert(0, None)
        try:
            inspect.signature(callee.value).bind(*positional, **keywords)
        except TypeError as error:
            signature = inspect.signature(callee.value)
            raise AssertionError(
                f"greengrasssdk calls {target}({shape}) but ours is {target}{signature}: {error}"
            ) from None
    else:
        raise AssertionError(f"unknown kind of use: {use}")


# --- the tests ----------------------------------------------------------------------------


def test_the_sdk_is_the_pinned_release() -> None:
    installed = importlib.metadata.version(SDK)
    assert installed == SDK_VERSION, (
        f"greengrasssdk {installed} is installed; these fakes were checked against "
        f"{SDK_VERSION}. Re-read its sources, update PINNED_USES and the fakes, then the pin."
    )
    source = (sdk_source_dir() / "__init__.py").read_text(encoding="utf-8")
    assert f"__version__ = '{SDK_VERSION}'" in source


def test_the_sdk_uses_exactly_the_pinned_interface() -> None:
    found = sdk_uses()
    new, gone = sorted(found - PINNED_USES), sorted(PINNED_USES - found)
    assert not (new or gone), (
        "greengrasssdk's use of the core-only modules changed.\n"
        + "".join(f"  now also uses: {use}\n" for use in new)
        + "".join(f"  no longer uses: {use}\n" for use in gone)
        + "Check our fakes/core_runtime modules against the new SDK, then update PINNED_USES."
    )


@pytest.fixture
def our_modules(on_core: Path, lambda_env: dict[str, str]) -> Iterator[None]:
    yield


@pytest.mark.parametrize("use", sorted(PINNED_USES))
def test_our_modules_provide_the_use(our_modules: None, use: str) -> None:
    check_use(use)


def test_the_finder_notices_a_changed_call(our_modules: None) -> None:
    """The checks above are only as good as the finder and resolver: feed them a change."""
    changed = ast.parse(
        "from greengrass_ipc_python_sdk.ipc_client import IPCClient\n"
        "class Client:\n"
        "    def __init__(self):\n"
        "        self.ipc = IPCClient(endpoint='localhost', timeout=3)\n"
        "    def go(self):\n"
        "        out = self.ipc.get_work_result('arn', 'id', 'extra')\n"
        "        return out.status_code\n"
    )
    uses = _UseFinder(changed).run()
    assert f"call {_IPC}.IPCClient(endpoint=, timeout=)" in uses
    assert f"attr {_IPC}.IPCClient().get_work_result().status_code" in uses
    for use in (
        f"call {_IPC}.IPCClient(endpoint=, timeout=)",
        f"call {_IPC}.IPCClient().get_work_result(_, _, _)",
        f"attr {_IPC}.IPCClient().get_work_result().status_code",
        f"import {_ENV}.STREAM_MANAGER_PORT",
    ):
        with pytest.raises(AssertionError):
            check_use(use)
