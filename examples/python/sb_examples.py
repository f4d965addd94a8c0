"""Python helpers for the SnakeBridge examples (streaming, signatures).

The examples put this directory on the workers' PYTHONPATH with
`BridgeConfig::env("PYTHONPATH", ...)`, so `sb_examples` imports like any
installed module.
"""

import asyncio

# --- streaming ---------------------------------------------------------------

# How far each generator got, so the example can show that Python was asked
# for no more than the consumer took plus the prefetch window.
produced = {}


def squares(key):
    """An endless generator: 0, 1, 4, 9, ..., counting what it produced."""
    n = 0
    while True:
        produced[key] = n + 1
        yield n * n
        n += 1


def how_far(key):
    """How many items `squares(key)` has produced."""
    return produced.get(key, 0)


async def countdown(n):
    """An async generator: n, n-1, ..., 1, with an await between items."""
    for i in range(n, 0, -1):
        await asyncio.sleep(0.01)
        yield f"T-{i}"


def fails_after(n):
    """Yields 0..n-1, then raises."""
    yield from range(n)
    raise ValueError(f"no more items after {n}")


# --- signatures ----------------------------------------------------------------


def describe(a, b=2, /, c=3, *args, d, e=5, **kwargs):
    """Every kind of parameter: positional-only `a` (required) and `b`,
    positional-or-keyword `c`, `*args`, keyword-only `d` (required) and
    `e`, and `**kwargs`. Returns what it was given."""
    return {"a": a, "b": b, "c": c, "args": args, "d": d, "e": e, "kwargs": kwargs}
