"""Analysis tests of snakebridge_library's actions (bazel_skylib analysistest)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _actions(env, mnemonic):
    actions = analysistest.target_actions(env)
    return [a for a in actions if a.mnemonic == mnemonic]

def _introspect_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = _actions(env, "SnakeBridgeIntrospect")
    asserts.equals(env, 1, len(actions), "one introspection action")
    if actions:
        argv = actions[0].argv
        asserts.true(env, "--module" in argv and "fx_streaming" in argv, "--module fx_streaming in %s" % argv)
        outputs = [f.basename for f in actions[0].outputs.to_list()]
        asserts.equals(env, ["fx_streaming.ir.json"], outputs)
        asserts.equals(env, "0", actions[0].env.get("PYTHONHASHSEED"), "fixed hash seed")
    return analysistest.end(env)

introspect_test = analysistest.make(_introspect_test_impl)

def _render_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = _actions(env, "SnakeBridgeRender")
    asserts.equals(env, 1, len(actions), "one render action")
    if actions:
        argv = actions[0].argv
        asserts.true(env, argv[0].endswith("snakebridge-codegen/codegen"), "the Cargo crate's command runs: %s" % argv[0])
        for flag in ["--include", "countdown", "--streaming", "words"]:
            asserts.true(env, flag in argv, "%s in %s" % (flag, argv))
        asserts.false(env, "--expect-version" in argv, "no version, no check: %s" % argv)
        inputs = [f.basename for f in actions[0].inputs.to_list()]
        asserts.true(env, "fx_streaming.ir.json" in inputs, "the IR is an input: %s" % inputs)
        outputs = [f.basename for f in actions[0].outputs.to_list()]
        asserts.equals(env, ["fx_streaming.rs"], outputs)
    files = sorted([f.basename for f in analysistest.target_under_test(env)[DefaultInfo].files.to_list()])
    asserts.equals(env, ["fx_streaming.rs", "lib.rs"], files)
    return analysistest.end(env)

render_test = analysistest.make(_render_test_impl)

def _worker_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    runfiles = [f.short_path for f in target[DefaultInfo].default_runfiles.files.to_list()]
    asserts.true(
        env,
        [p for p in runfiles if p.endswith("snakebridge-worker/snakebridge-worker")] != [],
        "the worker binary is in the bundle's runfiles",
    )
    asserts.true(
        env,
        [p for p in runfiles if "fx_streaming/__init__.py" in p] != [],
        "the fixture package is in the bundle's runfiles",
    )
    return analysistest.end(env)

worker_test = analysistest.make(_worker_test_impl)

def rules_test_suite(name):
    introspect_test(name = name + "_introspect", target_under_test = ":fx_wrappers_ir")
    render_test(name = name + "_render", target_under_test = ":fx_wrappers_rs")
    worker_test(name = name + "_worker", target_under_test = ":worker")
    native.test_suite(
        name = name,
        tests = [name + "_introspect", name + "_render", name + "_worker"],
    )
