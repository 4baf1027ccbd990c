"""The optional display: an SSD1306 128 x 64 OLED on I2C, through micropython-lib's
`ssd1306` driver (frozen by boards/manifest.py, or installed by mip), drawn by
firmware/screen.py. Shell only: firmware/app.py calls step() between ticks, and
only when the tick's period has room for it (docs/DESIGN.md, "The display").

Each step() is one bounded slice of work: send one 128-byte page of the frame
drawn last (about 3 ms of bus time at 400 kHz), or draw the next frame when
none is left to send and RENDER_MS has passed since the last, at most 5 a
second. A stuck bus gives up after PAGE_TIMEOUT_US. Any error turns the display
off for the rest of the boot: step() never raises, and the shell records it once.
"""
from firmware import screen
from firmware.compat import const, ticks_add, ticks_diff

WIDTH = const(128)
HEIGHT = const(64)
PAGES = const(8)
ADDR = const(0x3C)
RENDER_MS = const(200)  # at most 5 frames a second
# The driver's set-up sends a whole blank frame (1025 bytes, 23 ms at 400 kHz) in one
# write; rp2's timeout bounds a whole transfer, so the bus starts with the port default.
INIT_TIMEOUT_US = const(50000)
PAGE_TIMEOUT_US = const(5000)  # then a page (129 bytes, 2.9 ms at 400 kHz) at a time
_SET_COL_ADDR = const(0x21)
_SET_PAGE_ADDR = const(0x22)


def from_board(board, machine_=None, driver=None):
    """The board's display (board.DISPLAY: a dict of "i2c", "sda", "scl", "freq",
    "addr"), or None when it declares none. A display that fails to start comes
    back switched off, with its error, for the shell to record."""
    spec = getattr(board, "DISPLAY", None)
    if spec is None:
        return None
    if machine_ is None:
        import machine
    else:
        machine = machine_
    pin = machine.Pin

    def bus(timeout_us):
        # The port keeps one object per bus id: calling again re-initialises the same
        # bus, which the driver already holds (docs/PORTS.md).
        return machine.I2C(spec["i2c"], scl=pin(spec["scl"]), sda=pin(spec["sda"]),
                           freq=spec["freq"], timeout=timeout_us)

    try:
        i2c = bus(INIT_TIMEOUT_US)
    except Exception as e:  # a pin or bus the port refuses: no display, the pen treats on
        return Display(None, spec["addr"], driver, e)
    display = Display(i2c, spec["addr"], driver)
    if display.on:
        try:
            bus(PAGE_TIMEOUT_US)
        except Exception as e:
            display.fail(e)
    return display


class Display:
    """i2c: the bus, handed in (as micropython-lib drivers take theirs); driver: the
    SSD1306_I2C class, micropython-lib's unless a host hands in another; error: an
    exception that already stopped the display before it started."""

    def __init__(self, i2c, addr=ADDR, driver=None, error=None):
        self.on = False
        self.error = ""  # why the display went off, for the treatment record
        self.pending = 0  # pages of the drawn frame still to send
        self.frames = 0  # frames drawn
        self._oled = None
        self._pages = ()  # type: tuple
        self._next_ms = 0
        self._due = True
        self._shown = None  # the view drawn last
        self._dark = False  # after a failure: one try at switching the panel off
        if error is not None:
            self.fail(error)
            return
        try:
            if driver is None:
                import ssd1306  # type: ignore[import-not-found]

                driver = ssd1306.SSD1306_I2C
            oled = driver(WIDTH, HEIGHT, i2c, addr)  # sends its set-up and a blank frame
            buf = memoryview(oled.buffer)
            self._pages = tuple(buf[p * WIDTH:(p + 1) * WIDTH] for p in range(PAGES))
            self._oled = oled
            self.on = True
        except Exception as e:
            self.fail(e)

    def fail(self, e):
        """Off for the rest of the boot: the next step() tries once to switch the
        panel off, and nothing touches the bus after that."""
        self.on = False
        self.pending = 0
        if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
            self.error = "errno %d" % e.args[0]
        elif isinstance(e, ImportError):
            self.error = "no driver"
        else:
            self.error = type(e).__name__

    def step(self, now_ms, pen):
        """One bounded slice: a page of the frame drawn last, or the next frame when
        one is due and the pen's view changed. Never raises."""
        oled = self._oled
        if not self.on or oled is None:
            if oled is not None and not self._dark:
                self._dark = True
                try:  # once: a frame frozen on the panel would mislead
                    oled.poweroff()
                except Exception:
                    pass
            return
        try:
            if self.pending:
                self._send(oled, PAGES - self.pending)
                self.pending -= 1
            elif self._due or ticks_diff(now_ms, self._next_ms) >= 0:
                self._due = False
                self._next_ms = ticks_add(now_ms, RENDER_MS)
                shown = screen.view(pen, now_ms)
                if shown != self._shown:
                    screen.draw(oled, *shown)
                    self._shown = shown
                    self.frames += 1
                    self.pending = PAGES
        except Exception as e:  # the bus, or anything else: the valves never hear of it
            self.fail(e)

    def _send(self, oled, page):
        """One page, addressed on its own: it lands where it belongs wherever the
        controller's pointer was left."""
        cmd = oled.write_cmd
        cmd(_SET_COL_ADDR)
        cmd(0)
        cmd(WIDTH - 1)
        cmd(_SET_PAGE_ADDR)
        cmd(page)
        cmd(page)
        oled.write_data(self._pages[page])
