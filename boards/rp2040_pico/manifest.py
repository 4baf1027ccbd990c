# Freezes the pen into a MicroPython build for the Raspberry Pi Pico:
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=<repo>/boards/rp2040_pico/manifest.py
# Device modules only (no hal/fake.py or hal/plant.py). opt=3 drops asserts and line
# numbers: device code refuses bad input by raising, never by assert.
include("$(PORT_DIR)/boards/manifest.py")
package("firmware", base_path="../..", opt=3)
package("hal", files=("__init__.py", "machine_hal.py", "boot.py"), base_path="../..", opt=3)
package("boards", files=("__init__.py", "reference_pen.py", "rp2040_pico/__init__.py", "rp2040_pico/board.py"),
        base_path="../..", opt=3)
module("boot.py", opt=3)  # runs first: the valve pins go low before main.py loads anything
module("main.py", opt=3)  # a frozen main.py runs at boot, before any main.py on the filesystem
