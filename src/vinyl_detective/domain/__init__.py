"""The pure core: matching, scoring, rules, lifecycle, scheduling decisions.

Nothing in this package does I/O, reads the clock or the environment: time and
data are passed in. tests/test_architecture.py enforces that.

May import: only itself and `vinyl_detective.errors`. Imported by every other layer.
"""
