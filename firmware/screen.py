"""What the display shows: a pure layout from the pen's outputs to a 128 x 64
framebuf.FrameBuffer in MONO_VLSB, the SSD1306's own memory layout, which
micropython-lib's ssd1306 driver keeps. No I/O. It allocates (strings, lists),
so it runs in the shell between ticks (hal/display.py), never in the tick.

    normal                 an alarm, not FAULT      FAULT
    +----------------+     +----------------+       +----------------+
    |TREATING     1/4|     |IDLE         1/4|       |FAULT     -12.3C|
    |moderate      #2|     |moderate      #2|       |Tip sensor open |
    |                |     |21.4C           |       |circuit. Closing|
    |   -50.2C       |     |ready           |       |both valves.    |
    |   (twice the   |     |Battery low:    |       |                |
    |   font's size) |     |finish and      |       |                |
    |12 s left       |     |recharge.       |       |                |
    |gas 6.2 g       |     |                |       |                |
    +----------------+     +----------------+       +----------------+

The bar on top is drawn inverted. An alarm text longer than its rows is shown a
page at a time, ALARM_PAGE_MS each (view() picks the page from the clock).
"""
from firmware import alarms, states
from firmware.compat import const, ticks_diff

WIDTH = const(128)
HEIGHT = const(64)
BYTES = const(1024)  # WIDTH * HEIGHT / 8
_CHAR = const(8)  # the framebuf font: 8 x 8 pixels
COLUMNS = const(16)  # characters per row
_BAR = const(8)  # the inverted bar's height
FAULT_ROWS = const(7)  # alarm text rows in FAULT
ALARM_ROWS = const(4)  # alarm text rows in the other states
ALARM_PAGE_MS = const(3000)
_BIG = const(16)  # the temperature, twice the font's size

# A nibble's 4 bits each doubled: 0b0101 -> 0b00110011 (the 2x glyphs).
_DOUBLE = (b"\x00\x03\x0c\x0f\x30\x33\x3c\x3f"
           b"\xc0\xc3\xcc\xcf\xf0\xf3\xfc\xff")
_big_glyphs = {}  # type: dict  # character -> its 16 x 16 FrameBuffer, built at first use


def new_frame():
    """A blank frame: (bytearray of BYTES, its FrameBuffer)."""
    import framebuf  # here: the layout itself needs no framebuf, only the fb handed in

    buf = bytearray(BYTES)
    return buf, framebuf.FrameBuffer(buf, WIDTH, HEIGHT, framebuf.MONO_VLSB)


def view(pen, now_ms):
    """The arguments of draw() after the pen's last tick, as a tuple: equal tuples
    draw equal frames, so the shell redraws only when this changes."""
    out = pen.out
    sup = pen.sup
    p = pen.profile
    state = out.state
    left_ms = 0
    if state == states.TREATING:  # the sooner of the contact limit and the hold's end
        left_ms = pen.left_ms(now_ms)  # the hold paused while the tip is off the skin
    elif state == states.LOCKOUT:
        left_ms = ticks_diff(sup.rest_end_ms, now_ms)
    # Whole seconds, rounded up, as status() shows them: a view that changes only
    # where the frame would not is not drawn again.
    left_ms = (left_ms + 999) // 1000 * 1000 if left_ms > 0 else 0
    tip_cc = sup.cc if sup.have_reading else None
    gas = getattr(out, "gas_left_mg", -1)
    page = 0
    if out.alarm:
        pages = _pages(out.alarm, state)
        if pages > 1:
            page = (now_ms // ALARM_PAGE_MS) % pages
    return (state, p.name, tip_cc, left_ms, sup.applications, p.cycles, pen.session,
            gas if gas >= 0 else None, out.alarm, page)


def draw(fb, state, profile, tip_cc, left_ms, used, allowed, session, gas_mg, alarm, page=0):
    """The whole frame into fb (a 128 x 64 MONO_VLSB FrameBuffer). tip_cc: the tip in
    centi-C, None before the first reading; left_ms: of the application or the rest;
    gas_mg: the cartridge gauge's estimate, None when not known; alarm: its code, 0
    for none; page: which page of a long alarm text."""
    fb.fill(0)
    fb.fill_rect(0, 0, WIDTH, _BAR, 1)
    fb.text(states.STATE_NAMES[state], 1, 0, 0)
    if state == states.FAULT:
        _right(fb, celsius(tip_cc), 0, 0)
        _alarm(fb, alarm, page, _BAR, FAULT_ROWS)
        return
    _right(fb, "%d/%d" % (used, allowed), 0, 0)
    if alarm:
        fb.text(profile, 0, 8, 1)
        _right(fb, "#%d" % session, 8, 1)
        fb.text(celsius(tip_cc), 0, 16, 1)
        fb.text(status(state, left_ms), 0, 24, 1)
        _alarm(fb, alarm, page, 32, ALARM_ROWS)
        return
    fb.text(profile, 0, 11, 1)
    _right(fb, "#%d" % session, 11, 1)
    big = celsius(tip_cc)
    _big(fb, big, (WIDTH - _BIG * len(big)) // 2, 22)
    fb.text(status(state, left_ms), 0, 42, 1)
    if gas_mg is not None:
        fb.text("gas %d.%d g" % (gas_mg // 1000, gas_mg % 1000 // 100), 0, 54, 1)


def celsius(cc):
    """Centi-C as tenths of a degree: "-50.2C"; "--.-C" before the first reading."""
    if cc is None:
        return "--.-C"
    tenths = (abs(cc) + 5) // 10
    sign = "-" if cc < 0 and tenths else ""
    return "%s%d.%dC" % (sign, tenths // 10, tenths % 10)


def status(state, left_ms):
    """What the state leaves the clinician to do or wait for, in at most 16 characters."""
    secs = (left_ms + 999) // 1000 if left_ms > 0 else 0
    if state == states.TREATING:
        return "%d s left" % secs
    if state == states.LOCKOUT:
        return "rest %d s" % secs if secs else "checking valves"
    if state == states.IDLE:
        return "ready"
    if state == states.DONE:
        return "new: hold mode"  # a new session is the mode button held 2 s
    return "starting"


def alarm_text(code):
    for row in alarms.TABLE:
        if row[0] == code:
            return row[5]
    return ""


def wrap(text, width=COLUMNS):
    """Whole words per line, at most width characters; a longer word is cut."""
    lines = []
    line = ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line = line + " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _pages(alarm, state):
    rows = FAULT_ROWS if state == states.FAULT else ALARM_ROWS
    return (len(wrap(alarm_text(alarm))) + rows - 1) // rows


def _alarm(fb, alarm, page, y, rows):
    lines = wrap(alarm_text(alarm))
    for line in lines[page * rows:page * rows + rows]:
        fb.text(line, 0, y, 1)
        y += _CHAR


def _right(fb, text, y, col):
    fb.text(text, WIDTH - 1 - _CHAR * len(text), y, col)


def _big(fb, text, x, y):
    for ch in text:
        fb.blit(_big_glyph(ch), x, y, 0)
        x += _BIG


def _big_glyph(ch):
    """The font's glyph at twice its size: each column byte doubled bit by bit into
    two bytes (the top and bottom 8 rows) and written to two columns."""
    glyph = _big_glyphs.get(ch)
    if glyph is not None:
        return glyph
    import framebuf

    small = bytearray(_CHAR)
    framebuf.FrameBuffer(small, _CHAR, _CHAR, framebuf.MONO_VLSB).text(ch, 0, 0, 1)
    big = bytearray(2 * _BIG)  # two pages of 16 columns
    for c in range(_CHAR):
        top = _DOUBLE[small[c] & 15]
        bottom = _DOUBLE[small[c] >> 4]
        big[2 * c] = big[2 * c + 1] = top
        big[_BIG + 2 * c] = big[_BIG + 2 * c + 1] = bottom
    glyph = framebuf.FrameBuffer(big, _BIG, _BIG, framebuf.MONO_VLSB)
    _big_glyphs[ch] = glyph
    return glyph
