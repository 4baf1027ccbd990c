# Freezes the pen into a MicroPython build for the Raspberry Pi Pico:
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=<repo>/boards/rp2040_pico/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
include("../manifest.py", board="rp2040_pico")
