"""snakebridge_verify_test: hardware verification as a Bazel test (`snakebridge verify`)."""

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _verify_test_impl(ctx):
    script = ctx.actions.declare_file(ctx.label.name)
    args = ["verify"]
    for r in ctx.attr.require:
        args += ["--require", r]
    if ctx.file.lock:
        args += ["--lock", ctx.file.lock.short_path]
    else:
        args.append("--no-lock")
    if ctx.attr.strict:
        args.append("--strict")

    # Tests run in the runfiles root; short paths are relative to it. Bazel
    # sets XML_OUTPUT_FILE: a skip is written there as JUnit <skipped>.
    ctx.actions.write(
        script,
        "#!/bin/sh\n# snakebridge_verify_test {}\nexec {} {} ${{XML_OUTPUT_FILE:+--junit \"$XML_OUTPUT_FILE\"}} \"$@\"\n".format(
            ctx.label,
            _shell_quote(ctx.executable._snakebridge.short_path),
            " ".join([_shell_quote(a) for a in args]),
        ),
        is_executable = True,
    )
    files = [ctx.executable._snakebridge] + ([ctx.file.lock] if ctx.file.lock else [])
    runfiles = ctx.runfiles(files = files).merge(ctx.attr._snakebridge[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

_verify_test = rule(
    implementation = _verify_test_impl,
    test = True,
    attrs = {
        "lock": attr.label(allow_single_file = True, doc = "A snakebridge.lock whose platform and hardware are compared with the machine's (differences that are errors fail the test)."),
        "require": attr.string_list(doc = "Accelerators or CPU features the check needs (`cpu`, `cuda`, `rocm`, `mps`, `avx2`, ...); on a machine without one the test is skipped, not failed."),
        "strict": attr.bool(doc = "Warnings of the lock comparison fail the test too."),
        "_snakebridge": attr.label(
            default = Label("//rust/snakebridge-cli:snakebridge"),
            executable = True,
            cfg = "target",
        ),
    },
)

def snakebridge_verify_test(name, require = [], lock = None, strict = False, tags = [], **kwargs):
    """A test that checks this machine's hardware.

    Passes when every requirement is met (and, with `lock`, the machine
    matches the lock's platform and hardware: `snakebridge verify`); fails
    on a mismatch; *skips* when required hardware is absent: it exits 0,
    prints `SKIPPED: <reason>` and writes a JUnit `<skipped message=...>`
    into test.xml. Tagged `external` (never cached: results depend on the
    machine, not on inputs Bazel can see).

    Args:
      name: the test's name.
      require: `cpu`, `cuda`, `rocm`, `mps`, or CPU feature names (`avx2`).
      lock: optional label of a snakebridge.lock to verify against.
      strict: with `lock`, fail on warnings too.
      tags: extra tags (`external` is always added).
      **kwargs: common test attributes (size, timeout, ...).
    """
    if not require and not lock:
        fail("snakebridge_verify_test {}: give `require`, `lock` or both".format(name))
    _verify_test(
        name = name,
        require = require,
        lock = lock,
        strict = strict,
        tags = tags + ["external"],
        **kwargs
    )
