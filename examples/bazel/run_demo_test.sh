#!/bin/sh
# Runs //examples/bazel:numpy_demo (its path is $1) and checks its output.
set -eu
out=$("$1")
echo "$out"
echo "$out" | grep -qx "numpy.mean(\[1, 2, 3, 4\]) = 2.5"
echo "$out" | grep -qx "ok"
