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
        asserts.true(env, "--module" in argv and "numpy" in argv, "--module numpy in %s" % argv)
        outputs = [f.basename for f in actions[0].outputs.to_list()]
        asserts.equals(env, ["numpy.ir.json"], outputs)
        asserts.equals(env, "0", actions[0].env.get("PYTHONHASHSEED"), "fixed hash seed")
    return analysistest.end(env)

introspect_test = analysistest.make(_introspect_test_impl)

def _render_test_impl(ctx):
    env = analysistest.begin(ctx)
    actions = _actions(env, "SnakeBridgeRender")
    asserts.equals(env, 1, len(actions), "one render action")
    if actions:
        argv = actions[0].argv
        for flag in ["--include", "mean", "--include", "arange", "--expect-version", "2.4.6"]:
            asserts.true(env, flag in argv, "%s in %s" % (flag, argv))
        inputs = [f.basename for f in actions[0].inputs.to_list()]
        asserts.true(env, "numpy.ir.json" in inputs, "the IR is an input: %s" % inputs)
        outputs = [f.basename for f in actions[0].outputs.to_list()]
        asserts.equals(env, ["numpy.rs"], outputs)
    files = sorted([f.basename for f in analysistest.target_under_test(env)[DefaultInfo].files.to_list()])
    asserts.equals(env, ["lib.rs", "numpy.rs"], files)
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
        [p for p in runfiles if "numpy/__init__.py" in p] != [],
        "numpy is in the bundle's runfiles",
    )
    return analysistest.end(env)

worker_test = analysistest.make(_worker_test_impl)

def rules_test_suite(name):
    introspect_test(name = name + "_introspect", target_under_test = ":numpy_wrappers_ir")
    render_test(name = name + "_render", target_under_test = ":numpy_wrappers_rs")
    worker_test(name = name + "_worker", target_under_test = ":worker")
    native.test_suite(
        name = name,
        tests = [name + "_introspect", name + "_render", name + "_worker"],
    )
