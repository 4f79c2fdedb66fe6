"""Plugins: the runner of their Lua test suites (plugin loading builds on the same runtime)."""
