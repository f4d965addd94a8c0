"""SnakeBridge's Python side: introspection of packages into the IR that
``snakebridge-codegen`` renders as typed Rust (see ``docs/ir.md``)."""

IR_VERSION = 2
