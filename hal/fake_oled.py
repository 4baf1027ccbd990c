"""The host fake of the display: an SSD1306 as an I2C target, holding its display
RAM as the controller fills it from the commands and data micropython-lib's
ssd1306 driver sends, and a bus that carries the driver's writes to it. The
simulator (`cryopen simulate --screens`) and the tests read the panel's RAM;
the tests' `machine` fakes put one on their I2C bus. Runs under MicroPython too.

What the driver sends (SSD1306 datasheet, 8.1.5 and 10): a write that starts with
0x80 carries one command byte; one that starts with 0x40 carries display data,
written at the RAM pointer, which in horizontal addressing mode moves right along
a page and on to the next page of the window set by 0x21 (columns) and 0x22 (pages).
"""
WIDTH = 128
PAGES = 8
ADDR = 0x3C
_CONTROL_CMD = 0x80  # Co=1, D/C#=0: a command byte follows
_CONTROL_DATA = 0x40  # Co=0, D/C#=1: display data follows
_SET_MEM_ADDR = 0x20
_SET_COL_ADDR = 0x21
_SET_PAGE_ADDR = 0x22
_DISPLAY_OFF = 0xAE
_DISPLAY_ON = 0xAF
# The commands the driver sends that take argument bytes, and how many.
_ARGS = {_SET_MEM_ADDR: 1, _SET_COL_ADDR: 2, _SET_PAGE_ADDR: 2, 0x81: 1, 0xA8: 1, 0xD3: 1,
         0xDA: 1, 0xD5: 1, 0xD9: 1, 0xDB: 1, 0x8D: 1, 0xAD: 1}
EIO = 5


class Ssd1306:
    """The controller's display RAM and the state the driver's commands set."""

    def __init__(self):
        self.ram = bytearray(WIDTH * PAGES)
        self.on = False
        self.mode = 2  # page addressing at reset
        self.cols = (0, WIDTH - 1)
        self.pages = (0, PAGES - 1)
        self.col = 0
        self.page = 0
        self.writes = 0  # data writes: one per transaction
        self._cmd = None  # a command still waiting for its argument bytes
        self._args = []

    def write(self, data):
        """One I2C write transaction addressed to the controller."""
        if not data:
            return
        if data[0] == _CONTROL_CMD:
            for byte in data[1:]:
                self._command(byte)
        elif data[0] == _CONTROL_DATA:
            self.writes += 1
            self._data(data, 1)
        else:
            raise ValueError("control byte 0x%02x: the driver sends 0x80 or 0x40" % data[0])

    def _command(self, byte):
        if self._cmd is not None:
            self._args.append(byte)
            if len(self._args) < _ARGS[self._cmd]:
                return
            cmd, args = self._cmd, self._args
            self._cmd = None
            self._args = []
            if cmd == _SET_MEM_ADDR:
                self.mode = args[0] & 3
            elif cmd == _SET_COL_ADDR:
                self.cols = (args[0] & 127, args[1] & 127)
                self.col = self.cols[0]
            elif cmd == _SET_PAGE_ADDR:
                self.pages = (args[0] & 7, args[1] & 7)
                self.page = self.pages[0]
            return
        if byte in _ARGS:
            self._cmd = byte
        elif byte == _DISPLAY_ON:
            self.on = True
        elif byte == _DISPLAY_OFF:
            self.on = False

    def _data(self, data, i):
        """data[i:] at the pointer, a run to the window's last column at a time. Past
        that column the pointer goes back to the first; horizontal addressing (what
        the driver sets) moves on to the next page too, page addressing (the reset
        state) stays on its page."""
        if self.mode == 1:
            raise ValueError("the fake models horizontal and page addressing, not vertical")
        while i < len(data):
            n = max(1, min(len(data) - i, self.cols[1] - self.col + 1))
            at = self.page * WIDTH + self.col
            self.ram[at:at + n] = data[i:i + n]
            i += n
            self.col += n
            if self.col > self.cols[1]:
                self.col = self.cols[0]
                if self.mode == 0:
                    self.page = self.page + 1 if self.page < self.pages[1] else self.pages[0]

    def frame(self):
        """What the panel shows: its RAM, or black while it is switched off."""
        return bytes(self.ram) if self.on else bytes(len(self.ram))


class Bus:
    """An I2C bus with the controller at addr: writeto and writevto as the driver
    calls them. fail: an OSError that every write raises from then on (a loose
    cable, a panel that died); a write to an address with nothing there raises
    OSError(EIO)."""

    def __init__(self, panel=None, addr=ADDR):
        self.panel = panel if panel is not None else Ssd1306()
        self.addr = addr
        self.fail = None
        self.transactions = 0

    def _target(self, addr):
        if self.fail is not None:
            raise self.fail
        if addr != self.addr:
            raise OSError(EIO)
        self.transactions += 1
        return self.panel

    def writeto(self, addr, buf, stop=True):
        self._target(addr).write(bytes(buf))
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        panel = self._target(addr)
        data = b"".join(bytes(b) for b in vector)
        panel.write(data)
        return len(data)
