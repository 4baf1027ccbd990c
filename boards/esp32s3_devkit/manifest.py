# Freezes the pen into a MicroPython build for the ESP32-S3-DevKitC-1:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=<repo>/boards/esp32s3_devkit/manifest.py
include("$(PORT_DIR)/boards/manifest.py")
include("../manifest.py", board="esp32s3_devkit")
