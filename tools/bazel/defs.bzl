"""Public Bazel API of SnakeBridge. Reference: docs/bazel.md ("Rule reference").

    load("@snakebridge//tools/bazel:defs.bzl",
         "snakebridge_library", "snakebridge_worker", "snakebridge_verify_test")

The implementation lives in tools/bazel/private/ and may change; only the
names loaded from here are public.
"""

load("//tools/bazel/private:library.bzl", _snakebridge_library = "snakebridge_library")
load("//tools/bazel/private:verify.bzl", _snakebridge_verify_test = "snakebridge_verify_test")
load("//tools/bazel/private:worker.bzl", _snakebridge_worker = "snakebridge_worker")

snakebridge_library = _snakebridge_library
snakebridge_worker = _snakebridge_worker
snakebridge_verify_test = _snakebridge_verify_test
