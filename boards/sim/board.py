"""The simulated pen: the host default board. It has the reference pen's tip,
valve and regulator, so the simulator exercises the same conversion and timing."""
from boards.reference_pen import *  # noqa: F401,F403

NAME = "sim"
HAS_MASTER_VALVE = False  # the common single-valve pen; see docs/DESIGN.md
