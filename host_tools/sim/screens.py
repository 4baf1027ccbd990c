"""`cryopen simulate --screens DIR`: the simulated pen's OLED, frame by frame.

The sim board declares a display (boards/sim/board.py, DISPLAY). With --screens
the simulator gives the pen the device's own display code (hal/display.py) and
micropython-lib's ssd1306 driver (host_tools/sim/vendor/, loaded here on CPython
with host_tools/sim/framebuf_host.py as its framebuf), on a fake I2C bus to an
SSD1306 that keeps its display RAM (hal/fake_oled.py). A frame is what the panel
shows once every page of a drawing has arrived; each one that differs from the
one before is written as a PNG named by its time, e.g. 012.34s.png.
"""
import builtins
import os
import re
import types

from hal import display as display_mod, fake_oled
from host_tools import paths
from host_tools.sim import framebuf_host
from host_tools.sim.outputs import OutputError

DRIVER = paths.ROOT / "host_tools" / "sim" / "vendor" / "ssd1306.py"
SCALE = 4  # each pixel as a 4 x 4 square: 512 x 256 PNGs
_NAME = re.compile(r"^\d{3,}\.\d\ds\.png$")  # the frames this writes, and no other file
_driver = None


def driver():
    """micropython-lib's ssd1306 module, run on CPython: its `micropython.const` and
    `framebuf` resolved to their host stand-ins, nothing else changed."""
    global _driver
    if _driver is None:
        framebuf_host.install()
        micropython = types.SimpleNamespace(const=lambda value: value)

        def imports(name, *args, **kwargs):
            if name == "micropython":
                return micropython
            return builtins.__import__(name, *args, **kwargs)

        module = types.ModuleType("ssd1306")
        module.__file__ = str(DRIVER)
        module.__dict__["__builtins__"] = dict(vars(builtins), __import__=imports)
        exec(compile(DRIVER.read_text(encoding="utf-8"), str(DRIVER), "exec"), module.__dict__)
        _driver = module
    return _driver


class Recorder:
    """The board's OLED through one simulation: the panel outlives reboots (an MCU
    reset leaves it powered; the driver's set-up clears it) and goes dark while the
    power is off. frames: [(t_ms, the panel's 1024 bytes)], each differing from the
    one before."""

    def __init__(self, board):
        self.addr = board.DISPLAY["addr"]
        self.bus = fake_oled.Bus(addr=self.addr)
        self.frames = []
        self._display = None

    def display(self):
        """The display of a new boot: the device's hal/display.py on the fake bus."""
        self._display = display_mod.Display(self.bus, self.addr, driver().SSD1306_I2C)
        return self._display

    def capture(self, t_ms, powered):
        """After a tick: the panel's frame, unless a drawing is still arriving."""
        if not powered:
            self.bus.panel = fake_oled.Ssd1306()  # the power is gone, and with it the RAM
            self._display = None
        elif self._display is not None and self._display.pending:
            return
        frame = self.bus.panel.frame()
        if not self.frames or self.frames[-1][1] != frame:
            self.frames.append((t_ms, frame))


def pixels(frame):
    """A frame's MONO_VLSB bytes as a 64 x 128 array of 0 and 1, row by row."""
    import numpy as np

    pages = np.frombuffer(frame, dtype=np.uint8).reshape(display_mod.PAGES, display_mod.WIDTH, 1)
    bits = np.unpackbits(pages, axis=2, bitorder="little")  # bit 0 is the page's top row
    return bits.transpose(0, 2, 1).reshape(display_mod.HEIGHT, display_mod.WIDTH)


def prepare(folder, option="--screens"):
    """Makes the folder (and its parents) and checks a file can be written in it;
    OutputError naming the option and the path otherwise."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputError("%s %s is a file: give a folder" % (option, folder))
    parent = folder
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise OutputError("%s %s: %s is a file, not a folder" % (option, folder, parent))
    probe = os.path.join(folder, ".cryopen-probe")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as e:
        raise OutputError("%s %s: cannot write %s: %s"
                          % (option, folder, e.filename or folder, e.strerror or e))


def name(t_ms, duration_s):
    """012.34s.png; wider when the run is long enough to need it, so names sort by time."""
    width = 7 if duration_s >= 1000 else 6
    return "%0*.2fs.png" % (width, t_ms / 1000.0)


def write(folder, frames, duration_s):
    """Each frame as a PNG; frames an earlier run left in the folder go first.
    Returns the paths written."""
    from matplotlib import image
    import numpy as np

    for old in os.listdir(folder):
        if _NAME.match(old):
            os.remove(os.path.join(folder, old))
    written = []
    block = np.ones((SCALE, SCALE), dtype=np.uint8)
    for t_ms, frame in frames:
        path = os.path.join(folder, name(t_ms, duration_s))
        image.imsave(path, np.kron(pixels(frame), block), cmap="gray", vmin=0, vmax=1)
        written.append(path)
    return written
