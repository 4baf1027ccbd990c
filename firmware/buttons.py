"""The mode button's gestures, from its debounced level each tick: a short press
(released before LONG_MS) and a long press (held LONG_MS; reported once, while
still held, so the pen can answer at once). A press during which reset is pressed
is the new-cartridge gesture and gives neither (consume). Pure and allocation-free."""
from firmware.compat import const, ticks_diff

NONE = const(0)
SHORT = const(1)
LONG = const(2)
LONG_MS = const(2000)  # a new session, a new patient: a deliberate hold


class ModeButton:
    def __init__(self):
        self._down = False
        self._since_ms = 0
        self._long_sent = False

    def consume(self):
        """The press (held now) served another gesture (with reset: a new cartridge):
        it gives neither SHORT nor LONG, whenever it is released."""
        self._down = True
        self._long_sent = True

    def update(self, now_ms, down):
        """Returns NONE, SHORT (on release) or LONG (once, when the hold reaches LONG_MS)."""
        if down and not self._down:
            self._down = True
            self._since_ms = now_ms
            self._long_sent = False
            return NONE
        if down:
            if not self._long_sent and ticks_diff(now_ms, self._since_ms) >= LONG_MS:
                self._long_sent = True
                return LONG
            return NONE
        if self._down:
            self._down = False
            if not self._long_sent:
                return SHORT
        return NONE
