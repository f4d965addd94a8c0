"""Introspect a Python package into SnakeBridge's IR (JSON, ``ir_version`` 2).

Standard library only, one file (``snakebridge-build`` embeds it), Python
3.10 or newer. Run it with the interpreter of the environment that holds
the package::

    python -m snakebridge.introspect --module numpy [--submodules linalg fft]
    python path/to/introspect.py --module json --public-api --output json.ir.json

The schema and the policies (signature tiers, stubs, overloads, public API)
are in ``docs/ir.md``; the dataclasses below (``Package``, ``Module``,
``Function``, ...) are that schema, field for field, and ``to_json`` turns
them into it. Output is deterministic: sorted keys, symbols sorted by name,
parameters in signature order, no memory addresses.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import enum
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import operator
import os
import pkgutil
import re
import sys
import types
import typing
import warnings

if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance

IR_VERSION = 2

PROTOCOL_DUNDERS = frozenset(
    "__abs__ __add__ __aenter__ __aexit__ __aiter__ __anext__ __await__ __bool__ "
    "__call__ __contains__ __delitem__ __enter__ __eq__ __exit__ __float__ "
    "__floordiv__ __fspath__ __ge__ __getitem__ __gt__ __hash__ __index__ __int__ "
    "__iter__ __le__ __len__ __lt__ __matmul__ __mod__ __mul__ __ne__ __neg__ "
    "__next__ __pow__ __repr__ __setitem__ __str__ __sub__ __truediv__".split()
)

MAX_CLASS_METHODS = 500
_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")

# A JSON value, as ``json.dumps`` takes it.
JSON: typing.TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"


# ----------------------------------------------------------------------------
# The IR (docs/ir.md): enums are str-valued, dataclass fields are JSON keys
# ----------------------------------------------------------------------------


class Kind(str, enum.Enum):
    """A parameter's kind (``inspect.Parameter.kind``)."""

    POSITIONAL_ONLY = "positional_only"
    POSITIONAL_OR_KEYWORD = "positional_or_keyword"
    VAR_POSITIONAL = "var_positional"
    KEYWORD_ONLY = "keyword_only"
    VAR_KEYWORD = "var_keyword"


KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: Kind.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: Kind.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: Kind.VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: Kind.KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: Kind.VAR_KEYWORD,
}


class CallableKind(str, enum.Enum):
    """What a callable is (its ``kind``)."""

    FUNCTION = "function"
    METHOD = "method"
    STATICMETHOD = "staticmethod"
    CLASSMETHOD = "classmethod"
    CONSTRUCTOR = "constructor"


class Tier(str, enum.Enum):
    """Where a callable's parameter list came from, best first."""

    RUNTIME = "runtime"
    TEXT_SIGNATURE = "text_signature"
    RUNTIME_HINTS = "runtime_hints"
    STUB = "stub"
    VARIADIC = "variadic"


class StubSource(str, enum.Enum):
    """Where a ``.pyi`` file came from."""

    STUB_PACKAGE = "stub_package"  # PEP 561 ``<top>-stubs``
    STUB = "stub"  # a ``.pyi`` beside the module
    TYPESHED = "typeshed"  # typeshed's ``stdlib/``


class AnnotationsFrom(str, enum.Enum):
    """Where a callable's types came from: a ``StubSource``, the runtime, or nowhere."""

    STUB_PACKAGE = "stub_package"
    STUB = "stub"
    TYPESHED = "typeshed"
    RUNTIME = "runtime"
    NONE = "none"


class Stage(str, enum.Enum):
    """What an ``errors`` entry failed at."""

    IMPORT = "import"
    GETATTR = "getattr"
    STUBS = "stubs"


@dataclasses.dataclass(kw_only=True)
class Default:
    """A parameter's default: ``value`` holds it when ``literal``."""

    literal: bool
    repr: str
    value: JSON


@dataclasses.dataclass(kw_only=True)
class Parameter:
    name: str
    kind: Kind
    default: Default | None = None
    annotation: str | None = None


@dataclasses.dataclass(kw_only=True)
class Overload:
    parameters: list[Parameter]
    returns: str | None


@dataclasses.dataclass(kw_only=True)
class Function:
    """A callable: a function, method or constructor (``Callable`` in docs/ir.md)."""

    name: str
    kind: CallableKind
    doc: str | None
    parameters: list[Parameter]
    returns: str | None
    signature_tier: Tier
    fallback_reasons: list[str]
    annotations_from: AnnotationsFrom
    overloads: list[Overload]
    is_async: bool


@dataclasses.dataclass(kw_only=True)
class Property:
    name: str
    doc: str | None
    annotation: str | None
    readonly: bool


@dataclasses.dataclass(kw_only=True)
class Attribute:
    name: str
    type: str
    literal: bool
    value: JSON
    annotation: str | None


@dataclasses.dataclass(kw_only=True)
class Class:
    name: str
    python_path: str
    doc: str | None
    bases: list[str]
    constructor: Function
    methods: list[Function]
    methods_truncated: bool
    properties: list[Property]
    attributes: list[Attribute]
    dunders: list[str]


@dataclasses.dataclass(kw_only=True)
class Module:
    name: str
    doc: str | None
    functions: list[Function]
    classes: list[Class]
    attributes: list[Attribute]
    submodules: list[str]
    has_all: bool
    stub: bool


@dataclasses.dataclass(kw_only=True)
class Error:
    """Something introspection could not do; recorded, not fatal."""

    module: str
    name: str | None
    stage: Stage
    error: str


@dataclasses.dataclass(kw_only=True)
class Options:
    all_submodules: bool
    public_api: bool
    submodules: list[str]


@dataclasses.dataclass(kw_only=True)
class Package:
    """One introspected package: the IR document."""

    ir_version: int
    package: str
    version: str | None
    options: Options
    modules: list[Module]
    errors: list[Error]


def to_json(node: object) -> JSON:
    """The JSON form of an IR node: dataclasses as objects keyed by field
    name, enums as their values."""
    if isinstance(node, enum.Enum):  # before `str`: the enums are str-valued
        value: str = node.value
        return value
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [to_json(item) for item in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return _object(node)
    raise TypeError(f"not part of the IR: {type(node).__name__}")


_SCALARS = (str, bool, int, float, type(None))  # exact types: the enums subclass str


def _object(node: DataclassInstance) -> dict[str, JSON]:
    # vars() holds exactly the fields (no slots, no ClassVar, nothing set
    # besides them), and is faster than dataclasses.fields on large IR
    return {name: value if type(value) in _SCALARS else to_json(value) for name, value in vars(node).items()}


# ----------------------------------------------------------------------------
# Stubs (.pyi), parsed with ast
# ----------------------------------------------------------------------------

FunctionNode: typing.TypeAlias = "ast.FunctionDef | ast.AsyncFunctionDef"


@dataclasses.dataclass
class StubFunction:
    """A ``def`` of a stub, or its ``@overload`` group in order."""

    nodes: list[FunctionNode]


@dataclasses.dataclass(eq=False)
class StubClass:
    """A ``class`` of a stub and its members (compared by identity)."""

    node: ast.ClassDef
    members: dict[str, StubEntry]


@dataclasses.dataclass(frozen=True)
class StubAttribute:
    """``name: annotation`` (with or without a value)."""

    annotation: str


@dataclasses.dataclass(frozen=True)
class StubAlias:
    """``int64 = signedinteger[_64Bit]``, ``double: TypeAlias = float64``: ``target`` is the name."""

    target: str


@dataclasses.dataclass(frozen=True)
class StubImport:
    """``from module import name``; ``reexport`` as PEP 484 says (``import y as y``)."""

    module: str
    name: str
    reexport: bool


# What a name of a stub (or of a stub class) is bound to.
StubEntry: typing.TypeAlias = "StubFunction | StubClass | StubAttribute | StubAlias | StubImport"
# An entry ``StubIndex.find`` resolves to: imports and aliases followed.
Definition: typing.TypeAlias = "StubFunction | StubClass | StubAttribute"


class StubModule:
    """The definitions of one ``.pyi`` file that matter to us."""

    def __init__(self, modname: str, path: str, *, is_package: bool, source: StubSource) -> None:
        self.modname = modname
        self.path = path
        self.package = modname if is_package else modname.rpartition(".")[0]
        self.source = source
        self.defs: dict[str, StubEntry] = {}
        self.star_imports: list[str] = []
        self.all: list[str] | None = None


_COMPARISONS: dict[type[ast.cmpop], typing.Callable[[typing.Any, typing.Any], typing.Any]] = {
    ast.GtE: operator.ge,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


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
    actual: typing.Any = {"sys.version_info": sys.version_info[:3], "sys.platform": sys.platform}.get(left)
    if actual is None:
        return None
    if isinstance(right, tuple):
        actual = actual[: len(right)]
    compare = _COMPARISONS.get(type(test.ops[0]))
    return None if compare is None else bool(compare(actual, right))


def _is_overload(node: FunctionNode) -> bool:
    return any(ast.unparse(d).split(".")[-1] == "overload" for d in node.decorator_list)


def _is_accessor(node: FunctionNode) -> bool:
    """``@x.setter`` / ``@x.deleter``: the getter keeps the property's type."""
    return any(ast.unparse(d).split(".")[-1] in ("setter", "deleter") for d in node.decorator_list)


def _alias_target(value: ast.expr) -> str | None:
    """``floating[_64Bit]`` -> ``floating``; ``float64`` -> ``float64``."""
    if isinstance(value, ast.Subscript):
        value = value.value
    return value.id if isinstance(value, ast.Name) else None


def _collect(body: list[ast.stmt], into: dict[str, StubEntry], stub: StubModule | None) -> None:
    """Collects functions, classes, annotated names, aliases and imports of a
    body; ``stub`` is ``None`` for a class body (no aliases, imports or ``__all__``)."""
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
            if _is_overload(node) and isinstance(previous, StubFunction):
                previous.nodes.append(node)
            elif not (isinstance(previous, StubFunction) and _is_overload(previous.nodes[0])):
                into[node.name] = StubFunction([node])
        elif isinstance(node, ast.ClassDef):
            members: dict[str, StubEntry] = {}
            _collect(node.body, members, None)
            into[node.name] = StubClass(node, members)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            annotation = ast.unparse(node.annotation)
            target = _alias_target(node.value) if node.value is not None else None
            if annotation.split(".")[-1] == "TypeAlias" and target is not None and stub is not None:
                into.setdefault(node.target.id, StubAlias(target))
            else:
                into.setdefault(node.target.id, StubAttribute(annotation))
        elif isinstance(node, ast.Assign) and stub is not None:
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            target = _alias_target(node.value)
            if "__all__" in names:
                with contextlib.suppress(ValueError):
                    stub.all = list(ast.literal_eval(node.value))
            elif len(names) == 1 and target is not None:
                # `int64 = signedinteger[_64Bit]`, `bool_ = bool`
                into.setdefault(names[0], StubAlias(target))
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
                    into.setdefault(alias.asname or alias.name, StubImport(source, alias.name, reexport))


def _unalias_builtins(tree: ast.Module) -> None:
    """Renames builtins imported under another name back to theirs
    (pandas-stubs: ``from builtins import bool as _bool``, then ``x: _bool``
    is ``x: bool``), so that annotations name the builtin."""
    aliases = {
        alias.asname: alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "builtins" and node.level == 0
        for alias in node.names
        if alias.asname and alias.asname != alias.name
    }
    if aliases:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in aliases:
                node.id = aliases[node.id]


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


# VERSIONS' range of a module: the first and last Python with it (``None``: still there).
VersionRange: typing.TypeAlias = "tuple[tuple[int, ...], tuple[int, ...] | None]"


def _parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _read_versions(path: str) -> dict[str, VersionRange]:
    """typeshed's VERSIONS: ``module: 3.0-`` / ``module: 3.0-3.11``."""
    out: dict[str, VersionRange] = {}
    with open(os.path.join(path, "VERSIONS"), encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if ":" not in line:
                continue
            name, _, span = line.partition(":")
            low, _, high = span.strip().partition("-")
            with contextlib.suppress(ValueError):
                out[name.strip()] = (_parse_version(low), _parse_version(high) if high.strip() else None)
    return out


class _Find(enum.Enum):
    """``StubIndex``'s default: look typeshed up with ``find_typeshed``."""

    TYPESHED = "find"


class StubIndex:
    """Finds and parses stubs, in the order type checkers use (PEP 561):
    ``<top>-stubs`` packages on ``sys.path`` (``types-*``, ``pandas-stubs``),
    then ``.pyi`` beside the module (bundled, as in numpy), then typeshed's
    ``stdlib/`` for the standard library (see ``find_typeshed``).
    ``typeshed``: ``(directory, version)``, or ``None`` for none."""

    def __init__(self, *, typeshed: tuple[str, str] | _Find | None = _Find.TYPESHED) -> None:
        self._cache: dict[str, StubModule | None] = {}
        found = find_typeshed() if typeshed is _Find.TYPESHED else typeshed
        self.typeshed: str | None = found[0] if found else None
        self.typeshed_version: str | None = found[1] if found else None
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
                stub = StubModule(modname, path, is_package=is_package, source=source)
                _unalias_builtins(tree)
                _collect(tree.body, stub.defs, stub)
                return stub
        return None

    def _typeshed_range(self, modname: str) -> VersionRange | None:
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

    def _candidates(self, modname: str) -> list[tuple[str, bool, StubSource]]:
        out: list[tuple[str, bool, StubSource]] = []
        parts = modname.split(".")
        for entry in sys.path:
            if entry and os.path.isdir(entry):
                root = os.path.join(entry, parts[0] + "-stubs", *parts[1:])
                out.append((os.path.join(root, "__init__.pyi"), True, StubSource.STUB_PACKAGE))
                out.append((root + ".pyi", False, StubSource.STUB_PACKAGE))
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
                out.append((os.path.join(folder, "__init__.pyi"), True, StubSource.STUB))
            else:
                out.append((os.path.join(folder, base.split(".")[0] + ".pyi"), False, StubSource.STUB))
        if self.typeshed and self.in_typeshed(modname):
            root = os.path.join(self.typeshed, *parts)
            out.append((os.path.join(root, "__init__.pyi"), True, StubSource.TYPESHED))
            out.append((root + ".pyi", False, StubSource.TYPESHED))
        return out

    def find(self, modname: str, name: str, *, depth: int = 0) -> tuple[Definition, StubModule] | tuple[None, None]:
        """``(definition, stub module)`` for ``modname.name``, following
        re-exports and aliases; ``(None, None)`` when no stub defines it."""
        stub = self.module(modname)
        if stub is None or depth > 8:
            return None, None
        entry = stub.defs.get(name)
        if isinstance(entry, StubImport):
            return self.find(entry.module, entry.name, depth=depth + 1)
        if isinstance(entry, StubAlias):
            if entry.target == name:  # `x = x` defines nothing
                return None, None
            return self.find(modname, entry.target, depth=depth + 1)
        if entry is None:
            for source in stub.star_imports:
                found = self.find(source, name, depth=depth + 1)
                if found[0] is not None:
                    return found
            return None, None
        return entry, stub

    def lookup(self, modname: str, name: str) -> Definition | None:
        """The stub definition of ``modname.name``, following re-exports."""
        return self.find(modname, name)[0]

    def class_chain(
        self, entry: Definition | None, stub: StubModule | None
    ) -> list[tuple[dict[str, StubEntry], StubSource]]:
        """The members of a stub class and of its stub bases (depth first,
        left to right, each once), with each one's source: numpy's
        ``ndarray.sum`` is declared on ``_ArrayOrScalarCommon``."""
        out: list[tuple[dict[str, StubEntry], StubSource]] = []
        seen: set[int] = set()

        def visit(entry: Definition | None, stub: StubModule | None, depth: int) -> None:
            if not isinstance(entry, StubClass) or id(entry) in seen or depth > 16:
                return
            seen.add(id(entry))
            out.append((entry.members, stub.source if stub else StubSource.STUB))
            for base in entry.node.bases:
                base_name = _alias_target(base)
                if base_name is None and isinstance(base, (ast.Attribute, ast.Subscript)):
                    text = ast.unparse(base.value if isinstance(base, ast.Subscript) else base)
                    if text.startswith("builtins."):
                        base_name = text.split(".", 1)[1]
                if base_name is None or base_name in ("Generic", "Protocol", "object"):
                    continue
                found = self.find(stub.modname, base_name) if stub else (None, None)
                if found[0] is None and self.typeshed:
                    found = self.find("builtins", base_name)
                visit(found[0], found[1], depth + 1)

        visit(entry, stub, 0)
        return out


def is_stdlib(modname: str) -> bool:
    return modname.split(".")[0] in getattr(sys, "stdlib_module_names", ())


# ----------------------------------------------------------------------------
# Values, annotations, parameters
# ----------------------------------------------------------------------------


def _clean_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - any repr may fail
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return _ADDRESS.sub("", text)


def _literal(value: object) -> bool:
    """None, bool, int, finite float or str, exactly (no subclasses)."""
    if value is None or isinstance(value, (bool, str)):
        return type(value) in (type(None), bool, str)
    if type(value) is int:
        return True
    return type(value) is float and isinstance(value, float) and math.isfinite(value)


def _default(value: object) -> Default | None:
    if value is inspect.Parameter.empty:
        return None
    literal = _literal(value)
    return Default(literal=literal, repr=_clean_repr(value), value=typing.cast("JSON", value) if literal else None)


def _annotation(value: object) -> str | None:
    if value is inspect.Parameter.empty or value is inspect.Signature.empty:
        return None
    if isinstance(value, str):
        return value
    return _ADDRESS.sub("", inspect.formatannotation(value))


def _type_name(value: object) -> str:
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _params_from_signature(sig: inspect.Signature, hints: dict[str, object], *, drop_first: bool) -> list[Parameter]:
    params = list(sig.parameters.values())
    if (
        drop_first
        and params
        and params[0].kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
    ):
        params = params[1:]
    return [
        Parameter(
            name=p.name,
            kind=KINDS[p.kind],
            default=_default(p.default),
            annotation=_annotation(hints.get(p.name, p.annotation)),
        )
        for p in params
    ]


def _stub_default(node: ast.expr | None) -> Default | None:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        value = ...
    literal = value is not ... and _literal(value)
    return Default(literal=literal, repr=ast.unparse(node), value=value if literal else None)


def _stub_annotation_of(arg: ast.arg) -> str | None:
    return ast.unparse(arg.annotation) if arg.annotation is not None else None


def _params_from_stub(node: FunctionNode, *, drop_first: bool) -> list[Parameter]:
    a = node.args
    positional = a.posonlyargs + a.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += a.defaults
    out: list[Parameter] = []
    for i, arg in enumerate(positional):
        kind = Kind.POSITIONAL_ONLY if i < len(a.posonlyargs) else Kind.POSITIONAL_OR_KEYWORD
        # typeshed's pre-PEP 570 convention: `__x` is positional-only
        if arg.arg.startswith("__") and not arg.arg.endswith("__"):
            kind = Kind.POSITIONAL_ONLY
        out.append(
            Parameter(name=arg.arg, kind=kind, default=_stub_default(defaults[i]), annotation=_stub_annotation_of(arg))
        )
    if a.vararg:
        out.append(Parameter(name=a.vararg.arg, kind=Kind.VAR_POSITIONAL, annotation=_stub_annotation_of(a.vararg)))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(
            Parameter(
                name=arg.arg,
                kind=Kind.KEYWORD_ONLY,
                default=_stub_default(default),
                annotation=_stub_annotation_of(arg),
            )
        )
    if a.kwarg:
        out.append(Parameter(name=a.kwarg.arg, kind=Kind.VAR_KEYWORD, annotation=_stub_annotation_of(a.kwarg)))
    if drop_first and out and out[0].kind is not Kind.VAR_POSITIONAL:
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
    parts: list[str] = []
    depth, start = 0, 0
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


def _stub_signatures(defs: StubFunction, *, drop_first: bool) -> list[Overload]:
    return [
        Overload(
            parameters=_params_from_stub(node, drop_first=drop_first),
            returns=ast.unparse(node.returns) if node.returns is not None else None,
        )
        for node in defs.nodes
    ]


# ----------------------------------------------------------------------------
# Callables
# ----------------------------------------------------------------------------


def _has_code(member: object) -> bool:
    """Python code: a function, or a method/staticmethod/classmethod of one."""
    return hasattr(member, "__code__") or hasattr(getattr(member, "__func__", None), "__code__")


def _runtime_tier(obj: object) -> Tier:
    if isinstance(obj, type):
        for klass in obj.__mro__:
            if any(_has_code(klass.__dict__.get(name)) for name in ("__init__", "__new__")):
                return Tier.RUNTIME
            if klass.__dict__.get("__text_signature__") or klass.__dict__.get("__init__") is not None:
                break
        return Tier.TEXT_SIGNATURE if getattr(obj, "__text_signature__", None) else Tier.RUNTIME
    target = inspect.unwrap(obj) if callable(obj) else obj
    if _has_code(target):
        return Tier.RUNTIME
    if "__signature__" in dir(obj) and getattr(obj, "__signature__", None) is not None:
        return Tier.RUNTIME
    return Tier.TEXT_SIGNATURE if getattr(target, "__text_signature__", None) else Tier.RUNTIME


def _type_hints(obj: object) -> dict[str, object]:
    try:
        # a class: its (possibly inherited) __init__, as the class holds it
        target = obj.__init__ if isinstance(obj, type) else obj  # type: ignore[misc]
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - unresolvable hints are common
        return {}


def _only_variadic(params: list[Parameter]) -> bool:
    """``(*args, **kwargs)``: a wrapper hiding the real signature."""
    return sorted(p.kind.value for p in params) == [Kind.VAR_KEYWORD.value, Kind.VAR_POSITIONAL.value]


def _stub_annotations(sigs: list[Overload], name: str) -> list[str | None]:
    """The annotation of parameter ``name`` in each overload that has it."""
    found: list[str | None] = []
    for sig in sigs:
        for p in sig.parameters:
            if p.name == name:
                found.append(p.annotation)
                break
    return found


def describe_callable(
    obj: object,
    name: str,
    *,
    stub_defs: StubFunction | None = None,
    kind: CallableKind = CallableKind.FUNCTION,
    stub_source: StubSource = StubSource.STUB,
    no_stub: str = "stub: not found",
) -> Function:
    """One callable: its parameters, where they came from, and its types.
    ``stub_source`` names where ``stub_defs`` came from; ``no_stub`` is the
    reason recorded when there are none and the stub tier was needed."""
    drop_first = kind is CallableKind.METHOD
    stub_drop = kind in (CallableKind.METHOD, CallableKind.CLASSMETHOD, CallableKind.CONSTRUCTOR)
    stub_sigs = _stub_signatures(stub_defs, drop_first=stub_drop) if stub_defs is not None else []
    reasons: list[str] = []
    chosen: tuple[Tier, list[Parameter]] | None = None
    returns: str | None = None
    hints = _type_hints(obj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sig = inspect.signature(typing.cast("typing.Callable[..., object]", obj))
    except (ValueError, TypeError) as exc:
        reasons.append(f"runtime: {_ADDRESS.sub('', str(exc)) or type(exc).__name__}")
    else:
        params = _params_from_signature(sig, hints, drop_first=drop_first)
        returns = _annotation(hints.get("return", sig.return_annotation))
        tier = _runtime_tier(obj)
        if stub_sigs and _only_variadic(params):
            reasons.append(f"{tier.value}: only *args/**kwargs")
        else:
            chosen = (tier, params)
    if chosen is None:
        named = [k for k in hints if k != "return"]
        if named:
            hinted = [
                Parameter(name=k, kind=Kind.POSITIONAL_OR_KEYWORD, annotation=_annotation(hints[k])) for k in named
            ]
            chosen = (Tier.RUNTIME_HINTS, hinted)
            returns = _annotation(hints.get("return", inspect.Signature.empty))
        else:
            reasons.append("runtime_hints: no annotations")
    if chosen is None and stub_sigs:
        widest = max(stub_sigs, key=lambda s: len(s.parameters))
        chosen = (Tier.STUB, [dataclasses.replace(p) for p in widest.parameters])
    elif chosen is None:
        reasons.append(no_stub)
    if chosen is None:
        variadic = [
            Parameter(name="args", kind=Kind.VAR_POSITIONAL),
            Parameter(name="kwargs", kind=Kind.VAR_KEYWORD),
        ]
        chosen = (Tier.VARIADIC, variadic)
    tier, params = chosen
    annotated = any(p.annotation for p in params) or returns
    annotations_from = AnnotationsFrom.RUNTIME if annotated else AnnotationsFrom.NONE
    if stub_sigs:
        typed = False
        for p in params:
            found = _stub_annotations(stub_sigs, p.name)
            merged = _union(found) if found else None
            if merged is not None:
                p.annotation, typed = merged, True
        merged_returns = _union([s.returns for s in stub_sigs])
        if merged_returns is not None:
            returns, typed = merged_returns, True
        if typed:
            annotations_from = AnnotationsFrom(stub_source.value)
    return Function(
        name=name,
        kind=kind,
        doc=_doc(obj),
        parameters=params,
        returns=returns,
        signature_tier=tier,
        fallback_reasons=reasons,
        annotations_from=annotations_from,
        overloads=stub_sigs if len(stub_sigs) > 1 else [],
        is_async=inspect.iscoroutinefunction(obj),
    )


def _doc(obj: object) -> str | None:
    if isinstance(obj, type):
        raw = obj.__dict__.get("__doc__")
        return inspect.cleandoc(raw) if isinstance(raw, str) and raw.strip() else None
    try:
        text = inspect.getdoc(obj)
    except Exception:  # noqa: BLE001 - a broken __doc__ means no doc
        return None
    return text if text and text.strip() else None


def _stub_doc(entry: Definition | None) -> str | None:
    """The docstring of a stub function (its first overload) or class."""
    if isinstance(entry, StubFunction):
        return ast.get_docstring(entry.nodes[0])
    if isinstance(entry, StubClass):
        return ast.get_docstring(entry.node)
    return None


# ----------------------------------------------------------------------------
# Classes
# ----------------------------------------------------------------------------


def describe_class(
    cls: type,
    name: str,
    *,
    stub: Definition | None = None,
    stubs: StubIndex | None = None,
    stub_module: StubModule | None = None,
    no_stub: str = "stub: not found",
) -> Class:
    """A class: its constructor, methods, properties and attributes, typed
    from ``stub`` (and its stub bases, found through ``stubs``)."""
    chain = stubs.class_chain(stub, stub_module) if stubs is not None else []
    if not chain and isinstance(stub, StubClass):
        chain = [(stub.members, StubSource.STUB)]

    def member(attr: str) -> tuple[StubEntry | None, StubSource]:
        """The stub's declaration of ``attr`` on the class or a stub base, and its source."""
        for members, source in chain:
            if attr in members:
                return members[attr], source
        return None, StubSource.STUB

    init_stub, init_source = member("__init__")
    if not isinstance(init_stub, StubFunction):
        init_stub, init_source = member("__new__")
    constructor = describe_callable(
        cls,
        "__init__",
        stub_defs=init_stub if isinstance(init_stub, StubFunction) else None,
        kind=CallableKind.CONSTRUCTOR,
        stub_source=init_source,
        no_stub=no_stub,
    )
    constructor.doc = None
    methods: list[Function] = []
    properties: list[Property] = []
    attributes: list[Attribute] = []
    dunders: set[str] = set()
    seen: set[str] = set()
    truncated = False
    for klass in cls.__mro__:
        if klass is object:
            continue
        for attr, raw in sorted(klass.__dict__.items(), key=operator.itemgetter(0)):
            if attr in seen:
                continue
            seen.add(attr)
            if attr in PROTOCOL_DUNDERS:
                dunders.add(attr)
            if attr.startswith("_"):
                continue
            declared, source = member(attr)
            if isinstance(raw, property) or type(raw).__name__ in (
                "getset_descriptor",
                "member_descriptor",
                "cached_property",
            ):
                properties.append(_describe_property(raw, attr, declared))
                continue
            if isinstance(raw, staticmethod):
                target, kind = getattr(cls, attr), CallableKind.STATICMETHOD
            elif isinstance(raw, classmethod) or type(raw).__name__ == "classmethod_descriptor":
                target, kind = getattr(cls, attr), CallableKind.CLASSMETHOD
            elif callable(raw) and not isinstance(raw, type):
                target, kind = raw, CallableKind.METHOD
            else:
                if not isinstance(raw, type):
                    attributes.append(_describe_attribute(attr, raw, declared))
                continue
            defs = declared if isinstance(declared, StubFunction) else None
            methods.append(
                describe_callable(target, attr, stub_defs=defs, kind=kind, stub_source=source, no_stub=no_stub)
            )
    if len(methods) > MAX_CLASS_METHODS:
        methods, truncated = methods[:MAX_CLASS_METHODS], True
    return Class(
        name=name,
        python_path=_qualified(cls),
        doc=_doc(cls) or _stub_doc(stub),
        bases=[_qualified(b) for b in cls.__bases__ if b is not object],
        constructor=constructor,
        methods=sorted(methods, key=lambda m: m.name),
        methods_truncated=truncated,
        properties=sorted(properties, key=lambda p: p.name),
        attributes=sorted(attributes, key=lambda a: a.name),
        dunders=sorted(dunders),
    )


def _qualified(cls: type) -> str:
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _describe_property(raw: object, name: str, stub: StubEntry | None) -> Property:
    fget = getattr(raw, "fget", None) or getattr(raw, "func", None)
    annotation = None
    if fget is not None:
        annotation = _annotation(_type_hints(fget).get("return", inspect.Signature.empty))
    if isinstance(stub, StubFunction) and stub.nodes[0].returns is not None:
        annotation = ast.unparse(stub.nodes[0].returns)
    elif isinstance(stub, StubAttribute):
        annotation = stub.annotation
    readonly = getattr(raw, "fset", None) is None if isinstance(raw, property) else False
    if type(raw).__name__ == "cached_property":
        readonly = True
    return Property(name=name, doc=_doc(raw), annotation=annotation, readonly=readonly)


def _describe_attribute(name: str, value: object, stub: StubEntry | None) -> Attribute:
    literal = _literal(value)
    return Attribute(
        name=name,
        type=_type_name(value),
        literal=literal,
        value=typing.cast("JSON", value) if literal else None,
        annotation=stub.annotation if isinstance(stub, StubAttribute) else None,
    )


# ----------------------------------------------------------------------------
# Modules
# ----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> typing.Iterator[None]:
    """What a package prints goes to stderr; its warnings go nowhere."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        yield


def _import(name: str) -> types.ModuleType:
    with _quiet():
        return importlib.import_module(name)


def _error(module: str, name: str | None, stage: Stage, exc: BaseException) -> Error:
    message = _ADDRESS.sub("", f"{type(exc).__name__}: {exc}")
    return Error(module=module, name=name, stage=stage, error=message)


def _belongs(obj: object, root: str) -> bool:
    if _literal(obj):
        return True
    owner = getattr(obj, "__module__", None) if callable(obj) else type(obj).__module__
    return isinstance(owner, str) and (owner == root or owner.startswith(root + "."))


def _exported(module: types.ModuleType) -> list[str] | None:
    """The module's ``__all__`` (its string names) when it is a list or tuple."""
    with _quiet():  # numpy.core's modules warn when `__all__` is read
        exported = getattr(module, "__all__", None)
    return [n for n in exported if isinstance(n, str)] if isinstance(exported, (list, tuple)) else None


def _candidate_names(module: types.ModuleType, stub: StubModule | None, *, public_api: bool) -> list[str]:
    exported = _exported(module)
    if exported is not None and public_api:
        return sorted(set(exported))
    root = module.__name__.split(".")[0]
    names = set(exported or ())
    for name, value in vars(module).items():
        if not name.startswith("_") and (_belongs(value, root) or inspect.ismodule(value)):
            names.add(name)
    if stub is not None and exported is None:
        declared = stub.all or [n for n, e in stub.defs.items() if not (isinstance(e, StubImport) and not e.reexport)]
        names.update(n for n in declared if not n.startswith("_"))
    return sorted(names)


def describe_module(
    module: types.ModuleType,
    *,
    stubs: StubIndex,
    public_api: bool,
    errors: list[Error],
    modname: str | None = None,
) -> Module:
    """A module's functions, classes, attributes and submodules; what fails
    is added to ``errors``. ``modname``: the name it was imported by
    (``os.path`` is the module ``posixpath``)."""
    modname = modname or module.__name__
    stub = stubs.module(modname)
    no_stub = stubs.missing_reason(modname)
    if stub is None and no_stub == "typeshed: not installed":
        message = (
            "typeshed: not installed (no typeshed_client in this environment, so the standard "
            "library has no stub types; add typeshed_client to [packages] and run `snakebridge setup`)"
        )
        errors.append(Error(module=modname, name=None, stage=Stage.STUBS, error=message))
    functions: list[Function] = []
    classes: list[Class] = []
    attributes: list[Attribute] = []
    submodules: list[str] = []
    for name in _candidate_names(module, stub, public_api=public_api):
        try:
            with _quiet():
                value = getattr(module, name)
        except Exception as exc:  # noqa: BLE001 - lazy exports may fail
            if stub is None or name not in stub.defs:
                errors.append(_error(modname, name, Stage.GETATTR, exc))
            continue
        entry, where = stubs.find(modname, name) if stub is not None else (None, None)
        if inspect.ismodule(value):
            if value.__name__.startswith(modname + "."):
                submodules.append(value.__name__)
        elif isinstance(value, type):
            classes.append(describe_class(value, name, stub=entry, stubs=stubs, stub_module=where, no_stub=no_stub))
        elif callable(value) and type(value).__module__ not in ("typing", "types", "typing_extensions"):
            defs = entry if isinstance(entry, StubFunction) else None
            described = describe_callable(
                value,
                name,
                stub_defs=defs,
                stub_source=where.source if where is not None else StubSource.STUB,
                no_stub=no_stub,
            )
            if described.doc is None and defs is not None:
                described.doc = _stub_doc(defs)
            functions.append(described)
        else:
            attributes.append(_describe_attribute(name, value, entry))
    return Module(
        name=modname,
        doc=_doc(module),
        functions=functions,
        classes=classes,
        attributes=attributes,
        submodules=sorted(set(submodules)),
        has_all=_exported(module) is not None,
        stub=stub is not None,
    )


def _walk(package: types.ModuleType, errors: list[Error]) -> list[str]:
    path = getattr(package, "__path__", None)
    if path is None:
        return []
    found: list[str] = []

    def onerror(name: str) -> None:
        exc = sys.exc_info()[1]
        errors.append(_error(name, None, Stage.IMPORT, exc or ImportError(name)))

    with _quiet():
        for info in pkgutil.walk_packages(path, package.__name__ + ".", onerror=onerror):
            if not any(part.startswith("_") for part in info.name.split(".")):
                found.append(info.name)
    return found


def _version(name: str, module: types.ModuleType) -> str | None:
    try:
        return importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        version = getattr(module, "__version__", None)
        return version if isinstance(version, str) else None


def describe_package(
    module_name: str,
    *,
    submodules: list[str] | None = None,
    all_submodules: bool = False,
    public_api: bool = False,
) -> Package:
    """The IR of ``module_name`` and the given submodules (relative or
    absolute names; ``all_submodules``: every public one)."""
    errors: list[Error] = []
    stubs = StubIndex()
    root = _import(module_name)
    wanted = [s if s.startswith(module_name + ".") else f"{module_name}.{s}" for s in submodules or ()]
    if all_submodules:
        wanted += _walk(root, errors)
    modules = [describe_module(root, stubs=stubs, public_api=public_api, errors=errors, modname=module_name)]
    for name in sorted(set(wanted) - {module_name}):
        try:
            module = _import(name)
        except Exception as exc:  # noqa: BLE001 - one broken submodule is not fatal
            if not any(e.module == name and e.stage is Stage.IMPORT for e in errors):
                errors.append(_error(name, None, Stage.IMPORT, exc))
            continue
        modules.append(describe_module(module, stubs=stubs, public_api=public_api, errors=errors, modname=name))
    modules[1:] = sorted(modules[1:], key=lambda m: m.name)
    for m in modules:
        m.functions.sort(key=lambda s: s.name)
        m.classes.sort(key=lambda s: s.name)
        m.attributes.sort(key=lambda s: s.name)
    return Package(
        ir_version=IR_VERSION,
        package=module_name,
        version=_version(module_name.split(".")[0], root),
        options=Options(all_submodules=all_submodules, public_api=public_api, submodules=sorted(set(wanted))),
        modules=modules,
        errors=sorted(errors, key=lambda e: (e.module, e.name or "", e.stage.value)),
    )


def introspect(
    module_name: str,
    *,
    submodules: list[str] | None = None,
    all_submodules: bool = False,
    public_api: bool = False,
) -> dict[str, typing.Any]:
    """The IR of ``module_name`` as the JSON object ``json.loads`` would give
    (``to_json`` of ``describe_package``)."""
    package = describe_package(module_name, submodules=submodules, all_submodules=all_submodules, public_api=public_api)
    return _object(package)


def dumps(ir: Package | dict[str, JSON]) -> str:
    """The canonical JSON text of an IR: sorted keys, two-space indent, final newline."""
    data = to_json(ir) if isinstance(ir, Package) else ir
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snakebridge.introspect", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--module", required=True, help="the package or module to introspect")
    parser.add_argument("--submodules", nargs="*", default=[], help="submodules to add (relative or absolute)")
    parser.add_argument("--all-submodules", action="store_true", help="walk every public submodule")
    parser.add_argument("--public-api", action="store_true", help="only names in __all__ where it exists")
    parser.add_argument("--output", help="write the IR here instead of stdout")
    args = parser.parse_args(argv)
    try:
        ir = describe_package(
            args.module, submodules=args.submodules, all_submodules=args.all_submodules, public_api=args.public_api
        )
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
