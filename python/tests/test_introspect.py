"""Introspection: golden IR for tiny fixture packages, and real modules.

`BLESS=1 python -m pytest python/tests` rewrites the golden files (and fails:
run again without it).
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from snakebridge import introspect

HERE = pathlib.Path(__file__).resolve().parent
# The directory holding the `snakebridge` package (rust/snakebridge-build/python).
PYTHON_DIR = pathlib.Path(introspect.__file__).resolve().parents[1]
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"

# fixture -> extra command-line options
CASES = {
    "fx_posonly": [],
    "fx_kwonly": [],
    "fx_varargs": [],
    "fx_defaults": [],
    "fx_stub_only": [],
    "fx_overloads": [],
    "fx_classes": [],
    "fx_lazy_exports": [],
    "fx_keywords": [],
    "fx_broken_submodule": ["--all-submodules"],
    "fx_tiers": [],
    "fx_streaming": [],
    "fx_stubpkg": [],
    "fx_typed_streams": [],
}


# A JSON object of the IR, as the tests read it.
IR = dict[str, Any]


def run_cli(
    *args: str, pythonpath: tuple[pathlib.Path, ...] = (FIXTURES, PYTHON_DIR), module: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
    entry = ["-m", "snakebridge.introspect"] if module else [str(PYTHON_DIR / "snakebridge" / "introspect.py")]
    return subprocess.run([sys.executable, *entry, *args], env=env, capture_output=True, text=True, check=False)


def fixture_ir(name: str) -> str:
    done = run_cli("--module", name, *CASES[name])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ir(name: str) -> None:
    text = fixture_ir(name)
    path = GOLDEN / f"{name}.ir.json"
    if os.environ.get("BLESS") == "1":
        # Rewritten and failed (as prost's fixtures do), so a blessed run is
        # never green by accident: review the diff, then run without BLESS.
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        pytest.fail(f"BLESS=1: {path} now holds this IR; review the diff, then run without BLESS")
    assert path.exists(), f"{path} is missing: run with BLESS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name}: IR changed; review, then BLESS=1"


def symbols(ir: IR, module: str | None = None) -> dict[str, IR]:
    """name -> function/class/attribute dict of one module of an IR."""
    mods = {m["name"]: m for m in ir["modules"]}
    mod = mods[module or ir["package"]]
    out = {}
    for key in ("functions", "classes", "attributes"):
        out.update({s["name"]: s for s in mod[key]})
    return out


def params(fn: IR) -> dict[str, IR]:
    return {p["name"]: p for p in fn["parameters"]}


def load(name: str, *args: str) -> IR:
    ir: IR = json.loads(fixture_ir(name) if not args else run_cli("--module", name, *args).stdout)
    return ir


def test_positional_only_and_keyword_only_kinds() -> None:
    clamp = symbols(load("fx_posonly"))["clamp"]
    assert [p["kind"] for p in clamp["parameters"]] == ["positional_only"] * 3
    connect = params(symbols(load("fx_kwonly"))["connect"])
    assert connect["port"]["kind"] == "keyword_only" and connect["port"]["default"] is None
    assert connect["timeout"]["default"] == {"literal": True, "repr": "1.5", "value": 1.5}


def test_varargs_kinds_and_annotations() -> None:
    tag = symbols(load("fx_varargs"))["tag"]
    kinds = [(p["name"], p["kind"], p["annotation"]) for p in tag["parameters"]]
    assert kinds == [
        ("name", "positional_or_keyword", "str"),
        ("children", "var_positional", "str"),
        ("attrs", "var_keyword", "str"),
    ]


def test_defaults_without_json_form_keep_a_clean_repr() -> None:
    pad = params(symbols(load("fx_defaults"))["pad"])
    assert pad["limit"]["default"] == {"literal": True, "repr": "None", "value": None}
    assert pad["marker"]["default"] == {"literal": False, "repr": "<object object>", "value": None}
    assert pad["inf"]["default"]["literal"] is False
    assert pad["shape"]["default"]["repr"] == "(1, 2)"


def test_stub_only_signatures_come_from_the_stub() -> None:
    syms = symbols(load("fx_stub_only"))
    assert syms["describe"]["signature_tier"] == "stub"
    assert syms["describe"]["returns"] == "dict[str, Any]"
    assert syms["describe"]["doc"].startswith("vars(")  # runtime docs win over stub docs
    ping = syms["ping"]
    assert ping["signature_tier"] == "stub"
    assert ping["fallback_reasons"][0] == "runtime: only *args/**kwargs"
    assert [p["name"] for p in ping["parameters"]] == ["host", "count"]


def test_overloads_are_kept_and_merged_as_unions() -> None:
    parse = symbols(load("fx_overloads"))["parse"]
    assert parse["signature_tier"] == "runtime" and parse["annotations_from"] == "stub"
    assert len(parse["overloads"]) == 2
    assert params(parse)["value"]["annotation"] == "str | bytes"
    assert params(parse)["base"]["default"]["value"] == 10
    assert parse["returns"] == "int | bytes"


def test_classes_members() -> None:
    counter = symbols(load("fx_classes"))["Counter"]
    assert [p["name"] for p in counter["constructor"]["parameters"]] == ["name", "start"]
    kinds = {m["name"]: m["kind"] for m in counter["methods"]}
    assert kinds == {"add": "method", "describe": "staticmethod", "named": "classmethod", "reset": "method"}
    assert [p["name"] for p in next(m for m in counter["methods"] if m["name"] == "add")["parameters"]] == ["n"]
    props = {p["name"]: (p["annotation"], p["readonly"]) for p in counter["properties"]}
    assert props == {"count": ("int", True), "label": ("str", False), "slow": ("list[int]", True)}
    assert {a["name"] for a in counter["attributes"]} == {"limit", "unit"}
    assert counter["dunders"] == ["__len__", "__repr__"]


def test_lazy_getattr_exports_are_found_through_all() -> None:
    syms = symbols(load("fx_lazy_exports"))
    assert syms["lazy_double"]["doc"] == "Twice `x`, loaded on first access."
    assert syms["LAZY_LIMIT"]["value"] == 42


def test_submodule_import_failure_is_recorded_not_fatal() -> None:
    ir = load("fx_broken_submodule")
    assert [m["name"] for m in ir["modules"]] == ["fx_broken_submodule", "fx_broken_submodule.good"]
    assert ir["errors"] == [
        {
            "error": "ImportError: broken on purpose",
            "module": "fx_broken_submodule.broken",
            "name": None,
            "stage": "import",
        }
    ]


def test_every_tier_is_reachable() -> None:
    tiers = {n: s["signature_tier"] for n, s in symbols(load("fx_tiers")).items()}
    assert tiers == {
        "python_function": "runtime",
        "builtin_textsig": "text_signature",
        "hinted_callable": "runtime_hints",
        "no_signature": "variadic",
    }


def test_script_path_and_explicit_submodules() -> None:
    done = run_cli("--module", "fx_broken_submodule", "--submodules", "good", module=False)
    assert done.returncode == 0, done.stderr
    ir = json.loads(done.stdout)
    assert ir["ir_version"] == 2 and ir["options"]["submodules"] == ["fx_broken_submodule.good"]
    assert ir["errors"] == []


def test_missing_module_fails_clearly() -> None:
    done = run_cli("--module", "no_such_module_xyz")
    assert done.returncode == 2
    assert "cannot import no_such_module_xyz: ModuleNotFoundError" in done.stderr


def tier_counts(ir: IR, module: str | None = None) -> collections.Counter[str]:
    mod = next(m for m in ir["modules"] if m["name"] == (module or ir["package"]))
    callables = list(mod["functions"])
    for cls in mod["classes"]:
        callables += [cls["constructor"], *cls["methods"]]
    return collections.Counter(c["signature_tier"] for c in callables)


def test_stdlib_json_math_pathlib() -> None:
    ir = introspect.introspect("json", public_api=True)
    dumps = symbols(ir)["dumps"]
    assert params(dumps)["indent"]["kind"] == "keyword_only"
    assert set(symbols(ir)) == {"dump", "dumps", "load", "loads", "JSONDecoder", "JSONDecodeError", "JSONEncoder"}
    math_ir = introspect.introspect("math")
    counts = tier_counts(math_ir)
    assert counts["text_signature"] >= 50, counts
    assert counts["variadic"] == 0, counts
    # C functions without __text_signature__ (3.14 gave hypot one): typeshed's
    # stub gives their parameters.
    stub_tier = sorted(f["name"] for f in math_ir["modules"][0]["functions"] if f["signature_tier"] == "stub")
    assert stub_tier == (["log"] if sys.version_info >= (3, 14) else ["hypot", "log"])
    log = symbols(math_ir)["log"]
    assert [p["name"] for p in log["parameters"]] == ["x", "base"] and log["returns"] == "float"
    assert symbols(math_ir)["pi"]["value"] == pytest.approx(3.141592653589793)
    path = symbols(introspect.introspect("pathlib", public_api=True))["Path"]
    assert {"exists", "read_text", "with_suffix"} <= {m["name"] for m in path["methods"]}
    assert {"name", "suffix"} <= {p["name"] for p in path["properties"]}


def test_numpy_top_level() -> None:
    ir = introspect.introspect("numpy")
    counts = tier_counts(ir)
    total = sum(counts.values())
    assert (counts["runtime"] + counts["text_signature"]) / total > 0.9, counts
    mean = symbols(ir)["mean"]
    axis = params(mean)["axis"]
    assert axis["kind"] == "positional_or_keyword" and axis["default"]["value"] is None
    assert mean["annotations_from"] == "stub" and "_ShapeLike" in axis["annotation"]
    assert len(mean["overloads"]) > 1
    assert {"linalg", "fft", "random"} <= {n.split(".")[-1] for n in ir["modules"][0]["submodules"]}


def test_output_is_deterministic() -> None:
    assert introspect.dumps(introspect.introspect("json")) == introspect.dumps(introspect.introspect("json"))


# --- types from stubs: typeshed, stub packages, numpy's classes -------------

STDLIB_SET = ["math", "json", "os", "os.path", "pathlib", "statistics", "collections"]


def callables(ir: IR) -> list[IR]:
    """Every function, constructor and method of an IR (as the coverage report counts them)."""
    out: list[IR] = []
    for m in ir["modules"]:
        out += m["functions"]
        for cls in m["classes"]:
            out += [cls["constructor"], *cls["methods"]]
    return out


def typed_share(ir: IR) -> tuple[int, int]:
    """(callables, with a typed return) over every module of an IR."""
    found = callables(ir)
    return len(found), sum(c["returns"] is not None for c in found)


def test_stdlib_types_come_from_typeshed() -> None:
    assert introspect.find_typeshed() is not None, "typeshed_client is in snakebridge.toml: run snakebridge setup"
    math_syms = symbols(introspect.introspect("math"))
    sqrt = math_syms["sqrt"]
    typed = (sqrt["returns"], sqrt["annotations_from"], sqrt["signature_tier"])
    assert typed == ("float", "typeshed", "text_signature")
    assert math_syms["pi"]["annotation"] == "Final[float]"
    dumps = symbols(introspect.introspect("json", public_api=True))["dumps"]
    assert dumps["returns"] == "str" and params(dumps)["indent"]["annotation"] == "None | int | str"
    stats = symbols(introspect.introspect("statistics", public_api=True))
    assert stats["fmean"]["returns"] == "float"
    path = symbols(introspect.introspect("pathlib", public_api=True))["PurePath"]
    props = {p["name"]: p["annotation"] for p in path["properties"]}
    assert props["name"] == "str" and props["suffix"] == "str"
    methods = {m["name"]: m for m in path["methods"]}
    assert methods["is_absolute"]["returns"] == "bool" and methods["is_absolute"]["annotations_from"] == "typeshed"


def test_os_path_keeps_the_name_it_was_imported_by() -> None:
    ir = introspect.introspect("os.path")
    # `os.path` is the module `posixpath` (or `ntpath`); the IR names what
    # the package option asked for, and typeshed's os/path.pyi is followed
    # through its `sys.platform` branch and star import.
    assert [m["name"] for m in ir["modules"]] == ["os.path"]
    syms = symbols(ir)
    assert syms["exists"]["returns"] == "bool" and syms["exists"]["annotations_from"] == "typeshed"
    assert syms["getsize"]["returns"] == "int"


def test_stdlib_set_typed_return_share() -> None:
    total = typed = 0
    for name in STDLIB_SET:
        counted = typed_share(introspect.introspect(name))
        total, typed = total + counted[0], typed + counted[1]
    assert total > 600 and typed / total >= 0.85, (typed, total)


def test_without_typeshed_introspection_says_why() -> None:
    # -I -S: no site-packages, so no typeshed_client (a downstream venv without it).
    script = PYTHON_DIR / "snakebridge" / "introspect.py"
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(script), "--module", "math"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    ir = json.loads(done.stdout)
    assert [(e["module"], e["stage"]) for e in ir["errors"]] == [("math", "stubs")]
    assert ir["errors"][0]["error"].startswith("typeshed: not installed")
    syms = symbols(ir)
    assert syms["sqrt"]["returns"] is None and syms["sqrt"]["annotations_from"] == "none"
    assert "typeshed: not installed" in syms["log"]["fallback_reasons"]
    assert syms["log"]["signature_tier"] == "variadic"


def test_typeshed_versions_file_is_honoured() -> None:
    stubs = introspect.StubIndex()
    now = sys.version_info[:2]
    assert stubs.in_typeshed("math") and stubs.in_typeshed("json.decoder")
    # `math.integer: 3.15-`: a submodule's own entry wins over its parent's.
    assert stubs.in_typeshed("math.integer") == (now >= (3, 15))
    # `asynchat: 3.0-3.11`: gone in 3.12.
    assert stubs.in_typeshed("asynchat") == (now <= (3, 11))
    assert not stubs.in_typeshed("numpy")
    assert stubs.missing_reason("numpy") == "stub: not found"
    if not stubs.in_typeshed("math.integer"):
        assert stubs.missing_reason("math.integer").startswith("typeshed: no stub for math.integer")


@pytest.mark.parametrize(
    "test, expected",
    [
        ('sys.platform != "win32"', sys.platform != "win32"),
        ('sys.platform == "win32" or sys.platform == "linux"', sys.platform in ("win32", "linux")),
        ('sys.platform != "win32" and sys.platform != "darwin"', sys.platform not in ("win32", "darwin")),
        ("sys.version_info >= (3, 10) and sys.version_info < (3, 99)", True),
        ("not sys.version_info >= (3, 10)", False),
        ('sys.platform.startswith("linux")', sys.platform.startswith("linux")),
        ("sys.version_info >= (3, 10) or something_else", True),
        ("something_else and sys.version_info < (3, 0)", False),
        ("something_else", None),
        ("something_else or sys.version_info < (3, 0)", None),
    ],
)
def test_version_and_platform_branches(test: str, expected: bool | None) -> None:
    import ast

    assert introspect._version_check(ast.parse(test, mode="eval").body) is expected


def test_stub_packages_win_and_reexports_are_followed() -> None:
    syms = symbols(load("fx_stubpkg"))
    label = syms["label"]
    # runtime `-> object`, bundled __init__.pyi `-> bytes`, fx_stubpkg-stubs `-> str`
    assert (label["returns"], label["annotations_from"]) == ("str", "stub_package")
    # `from ._impl import scale as scale`: followed into the stub package's _impl.pyi
    scale = syms["scale"]
    assert scale["returns"] == "float" and [p["annotation"] for p in scale["parameters"]] == ["float", "float"]
    counter = syms["Counter"]
    methods = {m["name"]: m for m in counter["methods"]}
    assert methods["total"]["returns"] == "int"  # declared on the stub base class
    assert methods["add"]["annotations_from"] == "stub_package"
    # `@size.setter` does not replace the getter's type
    assert counter["properties"][0]["annotation"] == "int"
    assert params(counter["constructor"])["start"]["annotation"] == "int"


def test_numpy_class_methods_are_typed_from_its_stubs() -> None:
    ir = introspect.introspect("numpy")
    syms = symbols(ir)
    ndarray = {m["name"]: m for m in syms["ndarray"]["methods"]}
    for name in ("sum", "reshape", "astype", "tolist"):
        assert ndarray[name]["returns"] is not None and ndarray[name]["annotations_from"] == "stub", name
    itemsize = {p["name"]: p for p in syms["dtype"]["properties"]}["itemsize"]
    assert itemsize["annotation"] == "int"
    # scalar types are aliases in the stub (`float64`, `int64 = signedinteger[_64Bit]`)
    for cls in ("float64", "int64", "bool_"):
        methods = syms[cls]["methods"]
        assert sum(m["returns"] is not None for m in methods) / len(methods) > 0.9, cls
    total, typed = typed_share(ir)
    assert typed / total >= 0.7, (typed, total)


def test_pandas_is_typed_from_pandas_stubs() -> None:
    # snakebridge.toml installs pandas-stubs beside pandas (PEP 561): it wins
    # over pandas' own runtime annotations, for functions and class methods.
    ir = introspect.introspect("pandas")
    syms = symbols(ir)
    read_csv = syms["read_csv"]
    assert read_csv["annotations_from"] == "stub_package", "pandas-stubs is in snakebridge.toml: run snakebridge setup"
    assert read_csv["returns"] == "TextFileReader | DataFrame" and len(read_csv["overloads"]) > 1
    frame = {m["name"]: m for m in syms["DataFrame"]["methods"]}
    assert (frame["sum"]["returns"], frame["sum"]["annotations_from"]) == ("Series", "stub_package")
    assert frame["head"]["returns"] == "Self"
    series = {m["name"]: m for m in syms["Series"]["methods"]}
    # runtime: untyped; pandas-stubs: typed (an overload union)
    assert series["sum"]["returns"] is not None and series["sum"]["annotations_from"] == "stub_package"
    assert series["tolist"]["returns"] == "list[S1]"
    assert {p["name"]: p["annotation"] for p in syms["DataFrame"]["properties"]}["shape"] == "tuple[int, int]"
    # `from builtins import bool as _bool, str as _str`: annotations name the builtins
    to_csv = params(frame["to_csv"])
    assert (to_csv["index"]["annotation"], to_csv["sep"]["annotation"]) == ("bool", "str")
    assert params(frame["sort_values"])["by"]["annotation"] == "str | Sequence[str]"
    total, typed = typed_share(ir)
    stubbed = sum(c["annotations_from"] == "stub_package" for c in callables(ir))
    assert total > 1000 and typed / total >= 0.9 and stubbed / total >= 0.8, (typed, stubbed, total)


def test_only_explicit_reexports_of_a_stub_add_names() -> None:
    ir = json.loads(run_cli("--module", "fx_stubpkg.extra").stdout)
    syms = symbols(ir)
    # `from collections import Counter as Counter` re-exports; a plain
    # `from collections import OrderedDict` does not (PEP 484).
    assert "Counter" in syms and "OrderedDict" not in syms
    assert syms["helper"]["returns"] == "int" and syms["helper"]["annotations_from"] == "stub_package"


# --- the typed model ----------------------------------------------------------


def test_the_typed_model_is_the_json() -> None:
    package = introspect.describe_package("json", public_api=True)
    dumps = next(f for f in package.modules[0].functions if f.name == "dumps")
    assert dumps.signature_tier is introspect.Tier.RUNTIME and dumps.kind is introspect.CallableKind.FUNCTION
    assert dumps.annotations_from is introspect.AnnotationsFrom.TYPESHED
    assert dumps.parameters[1].kind is introspect.Kind.KEYWORD_ONLY
    # enums become their values, dataclasses objects keyed by field name
    as_json = introspect.to_json(package)
    assert as_json == introspect.introspect("json", public_api=True)
    assert introspect.dumps(package) == introspect.dumps(introspect.introspect("json", public_api=True))
    assert introspect.to_json(dumps.parameters[0]) == {
        "annotation": "Any",
        "default": None,
        "kind": "positional_or_keyword",
        "name": "obj",
    }


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        introspect.introspect("json", ["decoder"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        introspect.describe_callable(len, "len", None)  # type: ignore[call-arg]


def test_a_class_a_stub_declares_as_a_plain_name(tmp_path: pathlib.Path) -> None:
    # `Widget: type[int]` in the stub of an undocumented class: the stub
    # entry has no docstring to offer (introspection used to fail with
    # "TypeError: 'str' can't have docstrings").
    package = tmp_path / "fx_stub_attr"
    package.mkdir()
    (package / "__init__.py").write_text("class Widget:\n    pass\n", encoding="utf-8")
    (package / "__init__.pyi").write_text("Widget: type[int]\n", encoding="utf-8")
    done = run_cli("--module", "fx_stub_attr", pythonpath=(tmp_path, PYTHON_DIR))
    assert done.returncode == 0, done.stderr
    widget = symbols(json.loads(done.stdout))["Widget"]
    assert widget["doc"] is None and widget["python_path"] == "fx_stub_attr.Widget"
