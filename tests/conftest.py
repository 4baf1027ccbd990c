"""pytest set-up shared by every test directory."""

# MicroPython-only tests (heap locking, interpreter limits): run by tests/mpy/run.mjs.
collect_ignore = ["mpy"]
