# Freezes the pen into a MicroPython build for the ESP32-S3-DevKitC-1:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=<repo>/boards/esp32s3_devkit/manifest.py
# Device modules only (no hal/fake.py or hal/plant.py). opt=3 drops asserts and line
# numbers: device code refuses bad input by raising, never by assert.
include("$(PORT_DIR)/boards/manifest.py")
package("firmware", base_path="../..", opt=3)
package("hal", files=("__init__.py", "machine_hal.py", "boot.py"), base_path="../..", opt=3)
package("boards", files=("__init__.py", "reference_pen.py", "esp32s3_devkit/__init__.py", "esp32s3_devkit/board.py"),
        base_path="../..", opt=3)
module("boot.py", opt=3)  # runs first: the valve pins go low before main.py loads anything
module("main.py", opt=3)  # a frozen main.py runs at boot, before any main.py on the filesystem
