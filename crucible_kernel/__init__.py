"""crucible-kernel: a Jupyter kernel for Lua cells on a re-implementation of Crucible's cru.* runtime."""

__version__ = "0.1.0"
