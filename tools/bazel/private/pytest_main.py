"""Runs pytest on the test files given as arguments (the `main` of py_test
targets that wrap pytest suites). Exit status is pytest's."""

import sys

import pytest

if __name__ == "__main__":
    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-W", "error", *sys.argv[1:]]))
