"""Introspect a Python package into SnakeBridge's IR (JSON, ``ir_version`` 2).

Standard library only. Run it with the interpreter of the environment that
holds the package::

    python -m snakebridge.introspect --module numpy [--submodules linalg fft]
    python path/to/introspect.py --module json --public-api --output json.ir.json

The schema and the policies (signature tiers, stubs, overloads, public API)
are in ``docs/ir.md``. Output is deterministic: sorted keys, symbols sorted
by name, parameters in signature order, no memory addresses.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import os
import pkgutil
import re
import sys
import typing
import warnings

IR_VERSION = 2

KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}

PROTOCOL_DUNDERS = frozenset(
    "__abs__ __add__ __aenter__ __aexit__ __aiter__ __anext__ __await__ __bool__ "
    "__call__ __contains__ __delitem__ __enter__ __eq__ __exit__ __float__ "
    "__floordiv__ __fspath__ __ge__ __getitem__ __gt__ __hash__ __index__ __int__ "
    "__iter__ __le__ __len__ __lt__ __matmul__ __mod__ __mul__ __ne__ __neg__ "
    "__next__ __pow__ __repr__ __setitem__ __str__ __sub__ __truediv__".split()
)

MAX_CLASS_METHODS = 500
_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")


# ----------------------------------------------------------------------------
# Stubs (.pyi), parsed with ast
# ----------------------------------------------------------------------------


class StubModule:
    """The definitions of one ``.pyi`` file that matter to us."""

    def __init__(self, modname: str, path: str, is_package: bool, source: str = "stub"):
        self.modname = modname
        self.path = path
        self.package = modname if is_package else modname.rpartition(".")[0]
        # where the file came from: "stub_package" (PEP 561 ``<top>-stubs``),
        # "stub" (a ``.pyi`` beside the module) or "typeshed"
        self.source = source
        self.defs: dict[str, typing.Any] = {}
        self.star_imports: list[str] = []
        self.all: list[str] | None = None


def _version_check(test: ast.expr) -> bool | None:
    """Evaluates ``sys.version_info >= (3, 10)``, ``sys.platform == "x"`` and
    ``and``/``or``/``not`` of them for the running interpreter (the venv's);
    ``None`` when the test is anything else."""
    if isinstance(test, ast.BoolOp):
        verdicts = [_version_check(v) for v in test.values]
        decisive = isinstance(test.op, ast.Or)  # True decides an `or`, False an `and`
        if decisive in verdicts:
            return decisive
        return None if None in verdicts else not decisive
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        verdict = _version_check(test.operand)
        return None if verdict is None else not verdict
    if (
        isinstance(test, ast.Call)
        and ast.unparse(test.func) == "sys.platform.startswith"
        and len(test.args) == 1
        and isinstance(test.args[0], ast.Constant)
        and isinstance(test.args[0].value, str)
    ):
        return sys.platform.startswith(test.args[0].value)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left = ast.unparse(test.left)
    try:
        right = ast.literal_eval(test.comparators[0])
    except ValueError:
        return None
    actual = {"sys.version_info": sys.version_info[:3], "sys.platform": sys.platform}.get(left)
    if actual is None:
        return None
    if isinstance(right, tuple):
        actual = actual[: len(right)]
    ops = {
        ast.GtE: lambda a, b: a >= b,
        ast.Gt: lambda a, b: a > b,
        ast.Lt: lambda a, b: a < b,
        ast.LtE: lambda a, b: a <= b,
        ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b,
    }
    op = ops.get(type(test.ops[0]))
    return None if op is None else op(actual, right)


def _is_overload(node: ast.AST) -> bool:
    return any(ast.unparse(d).split(".")[-1] == "overload" for d in node.decorator_list)


def _is_accessor(node: ast.AST) -> bool:
    """``@x.setter`` / ``@x.deleter``: the getter keeps the property's type."""
    return any(ast.unparse(d).split(".")[-1] in ("setter", "deleter") for d in node.decorator_list)


def _alias_target(value: ast.expr) -> str | None:
    """``floating[_64Bit]`` -> ``floating``; ``float64`` -> ``float64``."""
    if isinstance(value, ast.Subscript):
        value = value.value
    return value.id if isinstance(value, ast.Name) else None


def _collect(body: list[ast.stmt], into: dict, stub: StubModule | None) -> None:
    """Collects functions, classes, annotated names, aliases and imports of a body."""
    for node in body:
        if isinstance(node, ast.If):
            verdict = _version_check(node.test)
            if verdict is not False:
                _collect(node.body, into, stub)
            if verdict is not True:
                _collect(node.orelse, into, stub)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _is_accessor(node) and node.name in into:
                continue
            previous = into.get(node.name)
            if _is_overload(node) and isinstance(previous, list):
                previous.append(node)
            elif not (isinstance(previous, list) and previous and _is_overload(previous[0])):
                into[node.name] = [node]
        elif isinstance(node, ast.ClassDef):
            members: dict[str, typing.Any] = {}
            _collect(node.body, members, None)
            into[node.name] = ("class", node, members)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotation = ast.unparse(node.annotation)
            target = _alias_target(node.value) if node.value is not None else None
            if annotation.split(".")[-1] == "TypeAlias" and target is not None and stub is not None:
                into.setdefault(node.target.id, ("alias", target))
            else:
                into.setdefault(node.target.id, ("attr", annotation))
        elif isinstance(node, ast.Assign) and stub is not None:
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "__all__" in names:
                with contextlib.suppress(ValueError):
                    stub.all = list(ast.literal_eval(node.value))
            elif len(names) == 1 and _alias_target(node.value) is not None:
                # `int64 = signedinteger[_64Bit]`, `bool_ = bool`
                into.setdefault(names[0], ("alias", _alias_target(node.value)))
        elif isinstance(node, ast.AugAssign) and stub is not None:
            if isinstance(node.target, ast.Name) and node.target.id == "__all__":
                with contextlib.suppress(ValueError, TypeError):
                    stub.all = (stub.all or []) + list(ast.literal_eval(node.value))
        elif isinstance(node, ast.ImportFrom) and stub is not None:
            source = _absolute(stub.package, node.module, node.level)
            for alias in node.names:
                if alias.name == "*":
                    stub.star_imports.append(source)
                else:
                    # PEP 484: only `from x import y as y` (and relative
                    # imports in a package's __init__.pyi) re-export `y`
                    reexport = alias.asname == alias.name or (
                        node.level > 0 and stub.path.endswith("__init__.pyi") and alias.asname is None
                    )
                    into.setdefault(alias.asname or alias.name, ("import", source, alias.name, reexport))


def _absolute(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = package.split(".")
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def find_typeshed() -> tuple[str, str] | None:
    """typeshed's ``stdlib/`` tree as the ``typeshed_client`` distribution
    ships it (``typeshed_client/typeshed/``, with its VERSIONS file), found
    without importing it: ``(directory, "typeshed_client X.Y.Z")``."""
    try:
        spec = importlib.util.find_spec("typeshed_client")
    except (ImportError, ValueError):
        return None
    for folder in getattr(spec, "submodule_search_locations", None) or ():
        path = os.path.join(folder, "typeshed")
        if os.path.isfile(os.path.join(path, "VERSIONS")):
            try:
                version = importlib.metadata.version("typeshed_client")
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
            return path, f"typeshed_client {version}"
    return None


def _read_versions(path: str) -> dict[str, tuple[tuple[int, ...], tuple[int, ...] | None]]:
    """typeshed's VERSIONS: ``module: 3.0-`` / ``module: 3.0-3.11``."""
    out = {}
    with open(os.path.join(path, "VERSIONS"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            name, _, span = line.partition(":")
            low, _, high = span.strip().partition("-")
            with contextlib.suppress(ValueError):
                parse = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
                out[name.strip()] = (parse(low), parse(high) if high.strip() else None)
    return out


class StubIndex:
    """Finds and parses stubs, in the order type checkers use (PEP 561):
    ``<top>-stubs`` packages on ``sys.path`` (``types-*``, ``pandas-stubs``),
    then ``.pyi`` beside the module (bundled, as in numpy), then typeshed's
    ``stdlib/`` for the standard library (see ``find_typeshed``)."""

    _FIND = object()

    def __init__(self, typeshed: typing.Any = _FIND) -> None:
        self._cache: dict[str, StubModule | None] = {}
        found = find_typeshed() if typeshed is StubIndex._FIND else typeshed
        self.typeshed, self.typeshed_version = found if found else (None, None)
        self._versions = _read_versions(self.typeshed) if self.typeshed else {}

    def module(self, modname: str) -> StubModule | None:
        if modname not in self._cache:
            self._cache[modname] = self._load(modname)
        return self._cache[modname]

    def _load(self, modname: str) -> StubModule | None:
        for path, is_package, source in self._candidates(modname):
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as f:
                        tree = ast.parse(f.read(), filename=path)
                except (OSError, SyntaxError, ValueError):
                    continue
                stub = StubModule(modname, path, is_package, source)
                _collect(tree.body, stub.defs, stub)
                return stub
        return None

    def _typeshed_range(self, modname: str):
        """VERSIONS' range of the most specific entry for ``modname``."""
        parts = modname.split(".")
        for i in range(len(parts), 0, -1):
            found = self._versions.get(".".join(parts[:i]))
            if found is not None:
                return found
        return None

    def in_typeshed(self, modname: str) -> bool:
        span = self._typeshed_range(modname)
        if span is None:
            return False
        low, high = span
        now = sys.version_info[:2]
        return now >= low[:2] and (high is None or now <= high[:2])

    def missing_reason(self, modname: str) -> str:
        """Why no stub was found for ``modname`` (for ``fallback_reasons``)."""
        if is_stdlib(modname):
            if self.typeshed is None:
                return "typeshed: not installed"
            if not self.in_typeshed(modname):
                return f"typeshed: no stub for {modname} on Python {sys.version_info[0]}.{sys.version_info[1]}"
        return "stub: not found"

    def _candidates(self, modname: str) -> list[tuple[str, bool, str]]:
        out = []
        parts = modname.split(".")
        for entry in sys.path:
            if entry and os.path.isdir(entry):
                root = os.path.join(entry, parts[0] + "-stubs", *parts[1:])
                out.append((os.path.join(root, "__init__.pyi"), True, "stub_package"))
                out.append((root + ".pyi", False, "stub_package"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None)
        if origin and os.path.isfile(origin) and not is_stdlib(modname):
            folder, base = os.path.split(origin)
            if base.startswith("__init__."):
                out.append((os.path.join(folder, "__init__.pyi"), True, "stub"))
            else:
                out.append((os.path.join(folder, base.split(".")[0] + ".pyi"), False, "stub"))
        if self.typeshed and self.in_typeshed(modname):
            root = os.path.join(self.typeshed, *parts)
            out.append((os.path.join(root, "__init__.pyi"), True, "typeshed"))
            out.append((root + ".pyi", False, "typeshed"))
        return out

    def find(self, modname: str, name: str, depth: int = 0):
        """``(entry, stub module)`` for ``modname.name``, following re-exports
        and aliases; ``(None, None)`` when no stub defines it."""
        stub = self.module(modname)
        if stub is None or depth > 8:
            return None, None
        entry = stub.defs.get(name)
        if isinstance(entry, tuple) and entry[0] == "import":
            return self.find(entry[1], entry[2], depth + 1)
        if isinstance(entry, tuple) and entry[0] == "alias":
            if entry[1] == name:  # `x = x` defines nothing
                return None, None
            return self.find(modname, entry[1], depth + 1)
        if entry is None:
            for source in stub.star_imports:
                found = self.find(source, name, depth + 1)
                if found[0] is not None:
                    return found
            return None, None
        return entry, stub

    def lookup(self, modname: str, name: str, depth: int = 0):
        """The stub entry for ``modname.name``, following re-exports."""
        return self.find(modname, name, depth)[0]

    def class_chain(self, entry, stub: StubModule | None) -> list[tuple[dict, str]]:
        """The members of a stub class and of its stub bases (depth first,
        left to right, each once), with each one's source: numpy's
        ``ndarray.sum`` is declared on ``_ArrayOrScalarCommon``."""
        out: list[tuple[dict, str]] = []
        seen: set[int] = set()

        def visit(entry, stub, depth):
            if not (isinstance(entry, tuple) and entry[0] == "class") or id(entry) in seen or depth > 16:
                return
            seen.add(id(entry))
            out.append((entry[2], stub.source if stub else "stub"))
            for base in entry[1].bases:
                base_name = _alias_target(base)
                if base_name is None and isinstance(base, (ast.Attribute, ast.Subscript)):
                    text = ast.unparse(base.value if isinstance(base, ast.Subscript) else base)
                    if text.startswith("builtins."):
                        base_name = text.split(".", 1)[1]
                if base_name in (None, "Generic", "Protocol", "object"):
                    continue
                found = self.find(stub.modname, base_name) if stub else (None, None)
                if found[0] is None and self.typeshed:
                    found = self.find("builtins", base_name)
                visit(*found, depth + 1)

        visit(entry, stub, 0)
        return out


def is_stdlib(modname: str) -> bool:
    return modname.split(".")[0] in getattr(sys, "stdlib_module_names", ())


# ----------------------------------------------------------------------------
# Values, annotations, parameters
# ----------------------------------------------------------------------------


def _clean_repr(value: typing.Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - any repr may fail
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return _ADDRESS.sub("", text)


def _literal(value: typing.Any) -> bool:
    if value is None or isinstance(value, (bool, str)):
        return type(value) in (type(None), bool, str)
    if type(value) is int:
        return True
    return type(value) is float and math.isfinite(value)


def _default(value: typing.Any) -> dict | None:
    if value is inspect.Parameter.empty:
        return None
    literal = _literal(value)
    return {"literal": literal, "repr": _clean_repr(value), "value": value if literal else None}


def _annotation(value: typing.Any) -> str | None:
    if value is inspect.Parameter.empty or value is inspect.Signature.empty:
        return None
    if isinstance(value, str):
        return value
    return _ADDRESS.sub("", inspect.formatannotation(value))


def _type_name(value: typing.Any) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _param(name: str, kind: str, default=None, annotation=None) -> dict:
    return {"annotation": annotation, "default": default, "kind": kind, "name": name}


def _params_from_signature(sig: inspect.Signature, hints: dict, drop_first: bool) -> list[dict]:
    params = list(sig.parameters.values())
    if drop_first and params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        params = params[1:]
    return [
        _param(
            p.name,
            KINDS[p.kind],
            _default(p.default),
            _annotation(hints.get(p.name, p.annotation)),
        )
        for p in params
    ]


def _stub_default(node: ast.expr | None) -> dict | None:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        value = ...
    literal = value is not ... and _literal(value)
    return {"literal": literal, "repr": ast.unparse(node), "value": value if literal else None}


def _params_from_stub(node: ast.FunctionDef, drop_first: bool) -> list[dict]:
    a = node.args
    ann = lambda arg: ast.unparse(arg.annotation) if arg.annotation is not None else None  # noqa: E731
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    out = []
    for i, arg in enumerate(positional):
        kind = "positional_only" if i < len(a.posonlyargs) else "positional_or_keyword"
        # typeshed's pre-PEP 570 convention: `__x` is positional-only
        if arg.arg.startswith("__") and not arg.arg.endswith("__"):
            kind = "positional_only"
        out.append(_param(arg.arg, kind, _stub_default(defaults[i]), ann(arg)))
    if a.vararg:
        out.append(_param(a.vararg.arg, "var_positional", None, ann(a.vararg)))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append(_param(arg.arg, "keyword_only", _stub_default(default), ann(arg)))
    if a.kwarg:
        out.append(_param(a.kwarg.arg, "var_keyword", None, ann(a.kwarg)))
    if drop_first and out and out[0]["kind"] != "var_positional":
        out = out[1:]
    return out


def _union(annotations: list[str | None]) -> str | None:
    """The union of overload annotations, as ``A | B`` in first-seen order,
    each member once; ``None`` when any overload leaves it unannotated."""
    seen: list[str] = []
    for a in annotations:
        if a is None:
            return None
        for part in _split_union(a):
            if part not in seen:
                seen.append(part)
    return " | ".join(seen) if seen else None


def _split_union(annotation: str) -> list[str]:
    """``A | B[C | D]`` -> ``["A", "B[C | D]"]`` (top-level ``|`` only)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(annotation):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(annotation[start:i].strip())
            start = i + 1
    parts.append(annotation[start:].strip())
    return [p for p in parts if p]


def _stub_signatures(defs: list[ast.FunctionDef], drop_first: bool) -> list[dict]:
    out = []
    for node in defs:
        returns = ast.unparse(node.returns) if node.returns is not None else None
        out.append({"parameters": _params_from_stub(node, drop_first), "returns": returns})
    return out


# ----------------------------------------------------------------------------
# Callables
# ----------------------------------------------------------------------------


def _runtime_tier(obj: typing.Any) -> str:
    if isinstance(obj, type):
        for klass in obj.__mro__:
            for name in ("__init__", "__new__"):
                member = klass.__dict__.get(name)
                if hasattr(member, "__code__") or hasattr(getattr(member, "__func__", None), "__code__"):
                    return "runtime"
            if klass.__dict__.get("__text_signature__") or klass.__dict__.get("__init__") is not None:
                break
        return "text_signature" if getattr(obj, "__text_signature__", None) else "runtime"
    target = inspect.unwrap(obj) if callable(obj) else obj
    if hasattr(target, "__code__") or hasattr(getattr(target, "__func__", None), "__code__"):
        return "runtime"
    if "__signature__" in dir(obj) and getattr(obj, "__signature__", None) is not None:
        return "runtime"
    return "text_signature" if getattr(target, "__text_signature__", None) else "runtime"


def _type_hints(obj: typing.Any) -> dict:
    try:
        target = obj.__init__ if isinstance(obj, type) else obj
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - unresolvable hints are common
        return {}


def _only_variadic(params: list[dict]) -> bool:
    """``(*args, **kwargs)``: a wrapper hiding the real signature."""
    return sorted(p["kind"] for p in params) == ["var_keyword", "var_positional"]


def describe_callable(
    obj: typing.Any,
    name: str,
    stub_defs: list | None,
    kind: str = "function",
    doc: str | None = None,
    stub_source: str = "stub",
    no_stub: str = "stub: not found",
) -> dict:
    """One callable: its parameters, where they came from, and its types.
    ``stub_source`` names where ``stub_defs`` came from (``stub``,
    ``stub_package``, ``typeshed``); ``no_stub`` is the reason recorded when
    there are none and the stub tier was needed."""
    drop_first = kind == "method"
    stub_drop = kind in ("method", "classmethod", "constructor")
    stub_sigs = _stub_signatures(stub_defs, stub_drop) if stub_defs else None
    reasons: list[str] = []
    tier, params, returns = None, None, None
    hints = _type_hints(obj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sig = inspect.signature(obj)
    except (ValueError, TypeError) as exc:
        reasons.append(f"runtime: {_ADDRESS.sub('', str(exc)) or type(exc).__name__}")
    else:
        params = _params_from_signature(sig, hints, drop_first)
        returns = _annotation(hints.get("return", sig.return_annotation))
        tier = _runtime_tier(obj)
        if stub_sigs and _only_variadic(params):
            reasons.append(f"{tier}: only *args/**kwargs")
            tier, params = None, None
    if params is None:
        named = [k for k in hints if k != "return"]
        if named:
            tier = "runtime_hints"
            params = [_param(k, "positional_or_keyword", None, _annotation(hints[k])) for k in named]
            returns = _annotation(hints.get("return", inspect.Signature.empty))
        else:
            reasons.append("runtime_hints: no annotations")
    if params is None and stub_sigs:
        tier = "stub"
        params = [dict(p) for p in max(stub_sigs, key=lambda s: len(s["parameters"]))["parameters"]]
    elif params is None:
        reasons.append(no_stub)
    if params is None:
        tier = "variadic"
        params = [_param("args", "var_positional"), _param("kwargs", "var_keyword")]
    annotations_from = "runtime" if any(p["annotation"] for p in params) or returns else "none"
    if stub_sigs:
        typed = False
        for p in params:
            found = [_stub_annotation(s, p["name"]) for s in stub_sigs]
            found = [a for a in found if a is not _MISSING]
            merged = _union(found) if found else None
            if merged is not None:
                p["annotation"], typed = merged, True
        merged_returns = _union([s["returns"] for s in stub_sigs])
        if merged_returns is not None:
            returns, typed = merged_returns, True
        if typed:
            annotations_from = stub_source
    return {
        "annotations_from": annotations_from,
        "doc": doc if doc is not None else _doc(obj),
        "fallback_reasons": reasons,
        "is_async": inspect.iscoroutinefunction(obj),
        "kind": kind,
        "name": name,
        "overloads": stub_sigs if stub_sigs and len(stub_sigs) > 1 else [],
        "parameters": params,
        "returns": returns,
        "signature_tier": tier,
    }


_MISSING = object()


def _stub_annotation(sig: dict, name: str):
    for p in sig["parameters"]:
        if p["name"] == name:
            return p["annotation"]
    return _MISSING


def _doc(obj: typing.Any) -> str | None:
    if isinstance(obj, type):
        raw = obj.__dict__.get("__doc__")
        return inspect.cleandoc(raw) if isinstance(raw, str) and raw.strip() else None
    try:
        text = inspect.getdoc(obj)
    except Exception:  # noqa: BLE001
        return None
    return text if text and text.strip() else None


def _stub_doc(defs) -> str | None:
    node = defs[0] if isinstance(defs, list) else defs[1] if isinstance(defs, tuple) else None
    return ast.get_docstring(node) if node is not None else None


# ----------------------------------------------------------------------------
# Classes
# ----------------------------------------------------------------------------


def describe_class(
    cls: type, name: str, stub, stubs: StubIndex | None = None, stub_module=None, no_stub: str = "stub: not found"
) -> dict:
    chain = stubs.class_chain(stub, stub_module) if stubs is not None else []
    if not chain and isinstance(stub, tuple) and stub[0] == "class":
        chain = [(stub[2], "stub")]

    def member(attr: str):
        """The stub's declaration of ``attr`` on the class or a stub base, and its source."""
        for members, source in chain:
            if attr in members:
                return members[attr], source
        return None, "stub"

    init_stub, init_source = member("__init__")
    if not isinstance(init_stub, list):
        init_stub, init_source = member("__new__")
    constructor = describe_callable(
        cls,
        "__init__",
        init_stub if isinstance(init_stub, list) else None,
        "constructor",
        doc=None,
        stub_source=init_source,
        no_stub=no_stub,
    )
    constructor["doc"] = None
    methods, properties, attributes, dunders = [], [], [], set()
    seen: set[str] = set()
    truncated = False
    for klass in cls.__mro__:
        if klass is object:
            continue
        for attr, raw in sorted(klass.__dict__.items()):
            if attr in seen:
                continue
            seen.add(attr)
            if attr in PROTOCOL_DUNDERS:
                dunders.add(attr)
            if attr.startswith("_"):
                continue
            declared, source = member(attr)
            entry = declared if isinstance(declared, list) else None
            extra = {"stub_source": source, "no_stub": no_stub}
            if isinstance(raw, (property,)) or type(raw).__name__ in (
                "getset_descriptor",
                "member_descriptor",
                "cached_property",
            ):
                properties.append(_describe_property(raw, attr, declared))
            elif isinstance(raw, staticmethod):
                methods.append(describe_callable(getattr(cls, attr), attr, entry, "staticmethod", **extra))
            elif isinstance(raw, classmethod) or type(raw).__name__ == "classmethod_descriptor":
                methods.append(describe_callable(getattr(cls, attr), attr, entry, "classmethod", **extra))
            elif callable(raw) and not isinstance(raw, type):
                methods.append(describe_callable(raw, attr, entry, "method", **extra))
            elif not isinstance(raw, type):
                attributes.append(_describe_attribute(attr, raw, declared))
    if len(methods) > MAX_CLASS_METHODS:
        methods, truncated = methods[:MAX_CLASS_METHODS], True
    bases = [_qualified(b) for b in cls.__bases__ if b is not object]
    return {
        "attributes": sorted(attributes, key=lambda a: a["name"]),
        "bases": bases,
        "constructor": constructor,
        "doc": _doc(cls) or _stub_doc(stub),
        "dunders": sorted(dunders),
        "methods": sorted(methods, key=lambda m: m["name"]),
        "methods_truncated": truncated,
        "name": name,
        "properties": sorted(properties, key=lambda p: p["name"]),
        "python_path": _qualified(cls),
    }


def _qualified(cls: type) -> str:
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _describe_property(raw, name: str, stub) -> dict:
    fget = getattr(raw, "fget", None) or getattr(raw, "func", None)
    annotation = None
    if fget is not None:
        annotation = _annotation(_type_hints(fget).get("return", inspect.Signature.empty))
    if isinstance(stub, list) and stub and stub[0].returns is not None:
        annotation = ast.unparse(stub[0].returns)
    elif isinstance(stub, tuple) and stub[0] == "attr":
        annotation = stub[1]
    readonly = getattr(raw, "fset", None) is None if isinstance(raw, property) else False
    if type(raw).__name__ == "cached_property":
        readonly = True
    return {"annotation": annotation, "doc": _doc(raw), "name": name, "readonly": readonly}


def _describe_attribute(name: str, value, stub) -> dict:
    literal = _literal(value)
    annotation = stub[1] if isinstance(stub, tuple) and stub[0] == "attr" else None
    return {
        "annotation": annotation,
        "literal": literal,
        "name": name,
        "type": _type_name(value),
        "value": value if literal else None,
    }


# ----------------------------------------------------------------------------
# Modules
# ----------------------------------------------------------------------------


def _import(name: str):
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def _error(module: str, name: str | None, stage: str, exc: BaseException) -> dict:
    message = _ADDRESS.sub("", f"{type(exc).__name__}: {exc}")
    return {"error": message, "module": module, "name": name, "stage": stage}


def _belongs(obj, root: str) -> bool:
    if _literal(obj):
        return True
    owner = getattr(obj, "__module__", None) if callable(obj) else type(obj).__module__
    return isinstance(owner, str) and (owner == root or owner.startswith(root + "."))


def _candidate_names(module, stub: StubModule | None, public_api: bool) -> list[str]:
    exported = getattr(module, "__all__", None)
    exported = [n for n in exported if isinstance(n, str)] if isinstance(exported, (list, tuple)) else None
    if exported is not None and public_api:
        return sorted(set(exported))
    root = module.__name__.split(".")[0]
    names = set(exported or ())
    for name, value in vars(module).items():
        if not name.startswith("_") and (_belongs(value, root) or inspect.ismodule(value)):
            names.add(name)
    if stub is not None and exported is None:
        declared = stub.all or [
            n for n, e in stub.defs.items() if not (isinstance(e, tuple) and e[0] == "import" and not e[3])
        ]
        names.update(n for n in declared if not n.startswith("_"))
    return sorted(names)


def describe_module(module, stubs: StubIndex, public_api: bool, errors: list, modname: str | None = None) -> dict:
    # the name it was imported by: `os.path` is the module `posixpath`
    modname = modname or module.__name__
    stub = stubs.module(modname)
    no_stub = stubs.missing_reason(modname)
    if stub is None and no_stub == "typeshed: not installed":
        errors.append(
            {
                "error": "typeshed: not installed (no typeshed_client in this environment, so the standard "
                "library has no stub types; add typeshed_client to [packages] and run `snakebridge setup`)",
                "module": modname,
                "name": None,
                "stage": "stubs",
            }
        )
    functions, classes, attributes, submodules = [], [], [], []
    for name in _candidate_names(module, stub, public_api):
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                value = getattr(module, name)
        except Exception as exc:  # noqa: BLE001 - lazy exports may fail
            if stub is None or name not in stub.defs:
                errors.append(_error(modname, name, "getattr", exc))
            continue
        entry, where = stubs.find(modname, name) if stub is not None else (None, None)
        if inspect.ismodule(value):
            if value.__name__.startswith(modname + "."):
                submodules.append(value.__name__)
        elif isinstance(value, type):
            classes.append(describe_class(value, name, entry, stubs, where, no_stub))
        elif callable(value) and type(value).__module__ not in ("typing", "types", "typing_extensions"):
            defs = entry if isinstance(entry, list) else None
            source = where.source if where is not None else "stub"
            described = describe_callable(value, name, defs, "function", stub_source=source, no_stub=no_stub)
            if described["doc"] is None and defs:
                described["doc"] = _stub_doc(defs)
            functions.append(described)
        else:
            attributes.append(_describe_attribute(name, value, entry))
    return {
        "attributes": attributes,
        "classes": classes,
        "doc": _doc(module),
        "functions": functions,
        "has_all": isinstance(getattr(module, "__all__", None), (list, tuple)),
        "name": modname,
        "stub": stub is not None,
        "submodules": sorted(set(submodules)),
    }


def _walk(package, errors: list) -> list[str]:
    path = getattr(package, "__path__", None)
    if path is None:
        return []
    found = []

    def onerror(name: str) -> None:
        exc = sys.exc_info()[1]
        errors.append(_error(name, None, "import", exc or ImportError(name)))

    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        for info in pkgutil.walk_packages(path, package.__name__ + ".", onerror=onerror):
            if not any(part.startswith("_") for part in info.name.split(".")):
                found.append(info.name)
    return found


def _version(name: str, module) -> str | None:
    try:
        return importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        version = getattr(module, "__version__", None)
        return version if isinstance(version, str) else None


def introspect(
    module_name: str,
    submodules: list[str] | None = None,
    all_submodules: bool = False,
    public_api: bool = False,
) -> dict:
    """The IR (a JSON-able dict) of ``module_name`` and the given submodules."""
    errors: list[dict] = []
    stubs = StubIndex()
    root = _import(module_name)
    names = [module_name]
    wanted = [s if s.startswith(module_name + ".") else f"{module_name}.{s}" for s in submodules or ()]
    if all_submodules:
        wanted += _walk(root, errors)
    modules = [describe_module(root, stubs, public_api, errors, module_name)]
    for name in sorted(set(wanted) - set(names)):
        try:
            module = _import(name)
        except Exception as exc:  # noqa: BLE001 - one broken submodule is not fatal
            if not any(e["module"] == name and e["stage"] == "import" for e in errors):
                errors.append(_error(name, None, "import", exc))
            continue
        modules.append(describe_module(module, stubs, public_api, errors, name))
    modules[1:] = sorted(modules[1:], key=lambda m: m["name"])
    for m in modules:
        for key in ("functions", "classes", "attributes"):
            m[key].sort(key=lambda s: s["name"])
    return {
        "errors": sorted(errors, key=lambda e: (e["module"], e["name"] or "", e["stage"])),
        "ir_version": IR_VERSION,
        "modules": modules,
        "options": {
            "all_submodules": all_submodules,
            "public_api": public_api,
            "submodules": sorted(set(wanted)),
        },
        "package": module_name,
        "version": _version(module_name.split(".")[0], root),
    }


def dumps(ir: dict) -> str:
    """The canonical JSON text of an IR: sorted keys, two-space indent, final newline."""
    return json.dumps(ir, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snakebridge.introspect", description=__doc__.split("\n")[0])
    parser.add_argument("--module", required=True, help="the package or module to introspect")
    parser.add_argument("--submodules", nargs="*", default=[], help="submodules to add (relative or absolute)")
    parser.add_argument("--all-submodules", action="store_true", help="walk every public submodule")
    parser.add_argument("--public-api", action="store_true", help="only names in __all__ where it exists")
    parser.add_argument("--output", help="write the IR here instead of stdout")
    args = parser.parse_args(argv)
    try:
        ir = introspect(args.module, args.submodules, args.all_submodules, args.public_api)
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        print(f"snakebridge.introspect: cannot import {args.module}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    text = dumps(ir)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
