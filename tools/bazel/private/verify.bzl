"""snakebridge_verify_test: hardware verification as a Bazel test."""

load("@rules_rust//rust:defs.bzl", "rust_test")

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
      **kwargs: passed to the underlying test (size, timeout, ...).
    """
    args = []
    for r in require:
        args += ["--require", r]
    data = []
    if lock:
        args += ["--lock", "$(rootpath {})".format(lock)]
        data.append(lock)
    if strict:
        args.append("--strict")
    _verify_test(
        name = name,
        args = args,
        data = data,
        tags = tags + ["external"],
        **kwargs
    )

def _verify_test(name, args, data, tags, **kwargs):
    # The program is compiled per test target (a small crate over
    # snakebridge-env's hardware detection); cached like any compile.
    rust_test(
        name = name,
        srcs = ["@snakebridge//tools/bazel/private:verify.rs"],
        crate_root = "@snakebridge//tools/bazel/private:verify.rs",
        args = args,
        data = data,
        edition = "2024",
        use_libtest_harness = False,
        tags = tags,
        deps = ["@snakebridge//rust/snakebridge-env"],
        **kwargs
    )
