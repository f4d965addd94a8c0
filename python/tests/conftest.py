"""Makes rust/snakebridge-build/python importable, so tests can import
`snakebridge.introspect` (the one copy, embedded by snakebridge-build)."""

import pathlib
import sys

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[2] / "rust" / "snakebridge-build" / "python"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))
