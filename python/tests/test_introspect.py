"""Introspection: golden IR for tiny fixture packages, and real modules.

`BLESS=1 python -m pytest python/tests` rewrites the golden files.
"""

import collections
import json
import os
import pathlib
import subprocess
import sys

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
}


def run_cli(*args, pythonpath=(FIXTURES, PYTHON_DIR), module=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
    entry = ["-m", "snakebridge.introspect"] if module else [str(PYTHON_DIR / "snakebridge" / "introspect.py")]
    return subprocess.run(
        [sys.executable, *entry, *args], env=env, capture_output=True, text=True, check=False
    )


def fixture_ir(name):
    done = run_cli("--module", name, *CASES[name])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ir(name):
    text = fixture_ir(name)
    path = GOLDEN / f"{name}.ir.json"
    if os.environ.get("BLESS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with BLESS=1"
    assert text == path.read_text(encoding="utf-8"), f"{name}: IR changed; review, then BLESS=1"


def symbols(ir, module=None):
    """name -> function/class/attribute dict of one module of an IR."""
    mods = {m["name"]: m for m in ir["modules"]}
    mod = mods[module or ir["package"]]
    out = {}
    for key in ("functions", "classes", "attributes"):
        out.update({s["name"]: s for s in mod[key]})
    return out


def params(fn):
    return {p["name"]: p for p in fn["parameters"]}


def load(name, *args):
    return json.loads(fixture_ir(name) if not args else run_cli("--module", name, *args).stdout)


def test_positional_only_and_keyword_only_kinds():
    clamp = symbols(load("fx_posonly"))["clamp"]
    assert [p["kind"] for p in clamp["parameters"]] == ["positional_only"] * 3
    connect = params(symbols(load("fx_kwonly"))["connect"])
    assert connect["port"]["kind"] == "keyword_only" and connect["port"]["default"] is None
    assert connect["timeout"]["default"] == {"literal": True, "repr": "1.5", "value": 1.5}


def test_varargs_kinds_and_annotations():
    tag = symbols(load("fx_varargs"))["tag"]
    kinds = [(p["name"], p["kind"], p["annotation"]) for p in tag["parameters"]]
    assert kinds == [
        ("name", "positional_or_keyword", "str"),
        ("children", "var_positional", "str"),
        ("attrs", "var_keyword", "str"),
    ]


def test_defaults_without_json_form_keep_a_clean_repr():
    pad = params(symbols(load("fx_defaults"))["pad"])
    assert pad["limit"]["default"] == {"literal": True, "repr": "None", "value": None}
    assert pad["marker"]["default"] == {"literal": False, "repr": "<object object>", "value": None}
    assert pad["inf"]["default"]["literal"] is False
    assert pad["shape"]["default"]["repr"] == "(1, 2)"


def test_stub_only_signatures_come_from_the_stub():
    syms = symbols(load("fx_stub_only"))
    assert syms["describe"]["signature_tier"] == "stub"
    assert syms["describe"]["returns"] == "dict[str, Any]"
    assert syms["describe"]["doc"].startswith("vars(")  # runtime docs win over stub docs
    ping = syms["ping"]
    assert ping["signature_tier"] == "stub"
    assert ping["fallback_reasons"][0] == "runtime: only *args/**kwargs"
    assert [p["name"] for p in ping["parameters"]] == ["host", "count"]


def test_overloads_are_kept_and_merged_as_unions():
    parse = symbols(load("fx_overloads"))["parse"]
    assert parse["signature_tier"] == "runtime" and parse["annotations_from"] == "stub"
    assert len(parse["overloads"]) == 2
    assert params(parse)["value"]["annotation"] == "str | bytes"
    assert params(parse)["base"]["default"]["value"] == 10
    assert parse["returns"] == "int | bytes"


def test_classes_members():
    counter = symbols(load("fx_classes"))["Counter"]
    assert [p["name"] for p in counter["constructor"]["parameters"]] == ["name", "start"]
    kinds = {m["name"]: m["kind"] for m in counter["methods"]}
    assert kinds == {"add": "method", "describe": "staticmethod", "named": "classmethod", "reset": "method"}
    assert [p["name"] for p in next(m for m in counter["methods"] if m["name"] == "add")["parameters"]] == ["n"]
    props = {p["name"]: (p["annotation"], p["readonly"]) for p in counter["properties"]}
    assert props == {"count": ("int", True), "label": ("str", False), "slow": ("list[int]", True)}
    assert {a["name"] for a in counter["attributes"]} == {"limit", "unit"}
    assert counter["dunders"] == ["__len__", "__repr__"]


def test_lazy_getattr_exports_are_found_through_all():
    syms = symbols(load("fx_lazy_exports"))
    assert syms["lazy_double"]["doc"] == "Twice `x`, loaded on first access."
    assert syms["LAZY_LIMIT"]["value"] == 42


def test_submodule_import_failure_is_recorded_not_fatal():
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


def test_every_tier_is_reachable():
    tiers = {n: s["signature_tier"] for n, s in symbols(load("fx_tiers")).items()}
    assert tiers == {
        "python_function": "runtime",
        "builtin_textsig": "text_signature",
        "hinted_callable": "runtime_hints",
        "no_signature": "variadic",
    }


def test_script_path_and_explicit_submodules():
    done = run_cli("--module", "fx_broken_submodule", "--submodules", "good", module=False)
    assert done.returncode == 0, done.stderr
    ir = json.loads(done.stdout)
    assert ir["ir_version"] == 1 and ir["options"]["submodules"] == ["fx_broken_submodule.good"]
    assert ir["errors"] == []


def test_missing_module_fails_clearly():
    done = run_cli("--module", "no_such_module_xyz")
    assert done.returncode == 2
    assert "cannot import no_such_module_xyz: ModuleNotFoundError" in done.stderr


def tier_counts(ir, module=None):
    mod = next(m for m in ir["modules"] if m["name"] == (module or ir["package"]))
    callables = list(mod["functions"])
    for cls in mod["classes"]:
        callables += [cls["constructor"], *cls["methods"]]
    return collections.Counter(c["signature_tier"] for c in callables)


def test_stdlib_json_math_pathlib():
    ir = introspect.introspect("json", public_api=True)
    dumps = symbols(ir)["dumps"]
    assert params(dumps)["indent"]["kind"] == "keyword_only"
    assert set(symbols(ir)) == {"dump", "dumps", "load", "loads", "JSONDecoder", "JSONDecodeError", "JSONEncoder"}
    math_ir = introspect.introspect("math")
    counts = tier_counts(math_ir)
    assert counts["text_signature"] >= 50, counts
    variadic = sorted(f["name"] for f in math_ir["modules"][0]["functions"] if f["signature_tier"] == "variadic")
    # C functions without __text_signature__, and no stub (3.14 gave hypot one).
    assert variadic == (["log"] if sys.version_info >= (3, 14) else ["hypot", "log"])
    assert symbols(math_ir)["pi"]["value"] == pytest.approx(3.141592653589793)
    path = symbols(introspect.introspect("pathlib", public_api=True))["Path"]
    assert {"exists", "read_text", "with_suffix"} <= {m["name"] for m in path["methods"]}
    assert {"name", "suffix"} <= {p["name"] for p in path["properties"]}


def test_numpy_top_level():
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


def test_output_is_deterministic():
    assert introspect.dumps(introspect.introspect("json")) == introspect.dumps(introspect.introspect("json"))
