# Freezes the pen into a MicroPython build. Each board's manifest.py includes this
# with board=<its folder>. Device modules only (no hal/fake.py);
# opt=3 drops asserts and line numbers: device code refuses bad input by raising.
package("firmware", base_path="..", opt=3)
package("hal", files=("__init__.py", "machine_hal.py", "boot.py", "integrity.py", "storage.py",
                      "display.py", "link.py"), base_path="..", opt=3)
# The optional OLED's driver (hal/display.py), from micropython-lib as the build finds it.
require("ssd1306")
package("boards", files=("__init__.py", "reference_pen.py", options.board + "/__init__.py",
                         options.board + "/board.py"), base_path="..", opt=3)
# Frozen boot.py and main.py run at power-up: boot.py drives the valve pins low first.
# A frozen pen takes no `cryopen deploy`: deploy refuses it, and the start-up check
# (hal/integrity.py) refuses to treat while copies of these packages sit on its
# file system too, since imports would prefer them to the frozen ones.
module("boot.py", base_path=options.board, opt=3)
module("main.py", base_path=options.board, opt=3)
