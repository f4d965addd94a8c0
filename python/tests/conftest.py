"""Makes `python/` importable, so tests can import `snakebridge.introspect`."""

import pathlib
import sys

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))
