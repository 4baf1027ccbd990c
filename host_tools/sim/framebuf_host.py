"""`framebuf` for CPython, for the simulator and the tests only: the pen runs
MicroPython's own C module. It does what extmod/modframebuf.c does (micropython
v1.29.0-preview-731-g1c3c201149, commit 1c3c201149f37fe8d81246191b3127bb198d6306)
for the one format the SSD1306 uses, MONO_VLSB (each byte a column of 8 pixels,
least significant bit on top, one 128-byte row of bytes per 8 pixel rows), and
for the methods firmware/screen.py and micropython-lib's ssd1306 driver call:
fill, fill_rect, pixel, hline, vline, rect, text and blit. Anything else is
absent rather than guessed. tests/host/test_screen_fidelity.py draws the same
frames under the real interpreter and here and compares the bytes.

    from host_tools.sim import framebuf_host
    framebuf_host.install()  # `import framebuf` now finds this module
"""
import sys

# The format codes of modframebuf.c; only MONO_VLSB is drawn here.
MONO_VLSB = 0
MVLSB = 0
RGB565 = 1
GS4_HMSB = 2
MONO_HLSB = 3
MONO_HMSB = 4
GS2_HMSB = 5
GS8 = 6
_FORMATS = (MONO_VLSB, RGB565, GS4_HMSB, MONO_HLSB, MONO_HMSB, GS2_HMSB, GS8)

# extmod/font_petme128_8x8.h (same commit), characters 32..127, 8 bytes each:
# one byte per column, least significant bit on top. text() draws any byte
# outside 32..127 as 127.
FONT = bytes.fromhex(
    "0000000000000000"  # 32 space
    "0000004f4f000000"  # 33 !
    "0007070000070700"  # 34 "
    "147f7f14147f7f14"  # 35 #
    "00242e6b6b3a1200"  # 36 $
    "006333180c666300"  # 37 %
    "00327f4d4d777250"  # 38 &
    "0000000406030100"  # 39 '
    "00001c3e63410000"  # 40 (
    "000041633e1c0000"  # 41 )
    "082a3e1c1c3e2a08"  # 42 *
    "0008083e3e080800"  # 43 +
    "000080e060000000"  # 44 ,
    "0008080808080800"  # 45 -
    "0000006060000000"  # 46 .
    "00406030180c0602"  # 47 /
    "003e7f49457f3e00"  # 48 0
    "0040447f7f404000"  # 49 1
    "00627351494f4600"  # 50 2
    "00226349497f3600"  # 51 3
    "00181814167f7f10"  # 52 4
    "00276745457d3900"  # 53 5
    "003e7f49497b3200"  # 54 6
    "000303797d070300"  # 55 7
    "00367f49497f3600"  # 56 8
    "00266f49497f3e00"  # 57 9
    "0000002424000000"  # 58 :
    "000080e464000000"  # 59 ;
    "00081c3663414100"  # 60 <
    "0014141414141400"  # 61 =
    "00414163361c0800"  # 62 >
    "00020351590f0600"  # 63 ?
    "003e7f414d4f2e00"  # 64 @
    "007c7e0b0b7e7c00"  # 65 A
    "007f7f49497f3600"  # 66 B
    "003e7f4141632200"  # 67 C
    "007f7f41633e1c00"  # 68 D
    "007f7f4949414100"  # 69 E
    "007f7f0909010100"  # 70 F
    "003e7f41497b3a00"  # 71 G
    "007f7f08087f7f00"  # 72 H
    "0000417f7f410000"  # 73 I
    "002060417f3f0100"  # 74 J
    "007f7f1c36634100"  # 75 K
    "007f7f4040404000"  # 76 L
    "007f7f060c067f7f"  # 77 M
    "007f7f0e1c7f7f00"  # 78 N
    "003e7f41417f3e00"  # 79 O
    "007f7f09090f0600"  # 80 P
    "001e3f21617f5e00"  # 81 Q
    "007f7f19396f4600"  # 82 R
    "00266f49497b3200"  # 83 S
    "0001017f7f010100"  # 84 T
    "003f7f40407f3f00"  # 85 U
    "001f3f60603f1f00"  # 86 V
    "007f7f3018307f7f"  # 87 W
    "0063771c1c776300"  # 88 X
    "00070f78780f0700"  # 89 Y
    "006171594d474300"  # 90 Z
    "00007f7f41410000"  # 91 [
    "0002060c18306040"  # 92 '\'
    "000041417f7f0000"  # 93 ]
    "00080c06060c0800"  # 94 ^
    "c0c0c0c0c0c0c0c0"  # 95 _
    "0000010306040000"  # 96 `
    "00207454547c7800"  # 97 a
    "007f7f44447c3800"  # 98 b
    "00387c44446c2800"  # 99 c
    "00387c44447f7f00"  # 100 d
    "00387c54545c5800"  # 101 e
    "00087e7f09030200"  # 102 f
    "0098bca4a4fc7c00"  # 103 g
    "007f7f04047c7800"  # 104 h
    "0000007d7d000000"  # 105 i
    "0040c08080fd7d00"  # 106 j
    "007f7f30386c4400"  # 107 k
    "0000417f7f400000"  # 108 l
    "007c7c1830187c7c"  # 109 m
    "007c7c04047c7800"  # 110 n
    "00387c44447c3800"  # 111 o
    "00fcfc24243c1800"  # 112 p
    "00183c2424fcfc00"  # 113 q
    "007c7c04040c0800"  # 114 r
    "00485c5454742000"  # 115 s
    "04043f7f44642000"  # 116 t
    "003c7c40407c3c00"  # 117 u
    "001c3c60603c1c00"  # 118 v
    "001c7c3018307c1c"  # 119 w
    "00446c38386c4400"  # 120 x
    "009cbca0a0fc7c00"  # 121 y
    "004464745c4c4400"  # 122 z
    "0008083e77414100"  # 123 {
    "000000ffff000000"  # 124 |
    "004141773e080800"  # 125 }
    "0002030103020301"  # 126 ~
    "aa55aa55aa55aa55"  # 127 (every other character)
)


def install():
    """Makes `import framebuf` find this module (host only; never on a pen)."""
    sys.modules.setdefault("framebuf", sys.modules[__name__])


def _int(value):
    """mp_obj_get_int: ints and bools; anything else is a TypeError."""
    if not isinstance(value, int):
        raise TypeError("can't convert %s to int" % type(value).__name__)
    return int(value)


class FrameBuffer:
    def __init__(self, buf, width, height, format, stride=None):
        width, height, format = _int(width), _int(height), _int(format)
        stride = width if stride is None else _int(stride)
        if width < 1 or height < 1 or width > 0xFFFF or height > 0xFFFF or stride > 0xFFFF \
                or stride < width:
            raise ValueError()
        if format not in _FORMATS:
            raise ValueError("invalid format")
        if format != MONO_VLSB:
            raise NotImplementedError("the host framebuf draws MONO_VLSB only")
        view = memoryview(buf)
        if view.readonly:
            raise TypeError("object with buffer protocol required")
        height_required = (height + 7) & ~7
        strides_required = height_required - 8
        if (strides_required * stride + (height_required - strides_required) * width) // 8 \
                > view.nbytes:
            raise ValueError()
        # Own names: the ssd1306 driver, a subclass, sets width and height itself.
        self._fb_buf = view.cast("B") if view.format != "B" else view
        self._fb_width = width
        self._fb_height = height
        self._fb_stride = stride

    # --- modframebuf.c: mvlsb_setpixel, mvlsb_getpixel, mvlsb_fill_rect --------------
    def _set(self, x, y, col):
        i = (y >> 3) * self._fb_stride + x
        bit = 1 << (y & 7)
        b = self._fb_buf
        b[i] = (b[i] & ~bit) | (bit if col != 0 else 0)

    def _get(self, x, y):
        return (self._fb_buf[(y >> 3) * self._fb_stride + x] >> (y & 7)) & 1

    def _fill_unclipped(self, x, y, w, h, col):
        """mvlsb_fill_rect, a page (8 rows) at a time: the same bytes result."""
        b = self._fb_buf
        end = y + h
        while y < end:
            page = y >> 3
            rows_end = min(end, (page + 1) << 3)
            mask = ((1 << (rows_end - y)) - 1) << (y & 7)
            start = page * self._fb_stride + x
            if mask == 0xFF:
                b[start:start + w] = bytes((0xFF if col != 0 else 0,)) * w
            else:
                keep = ~mask & 0xFF
                on = mask if col != 0 else 0
                for i in range(start, start + w):
                    b[i] = (b[i] & keep) | on
            y = rows_end

    def _fill_rect(self, x, y, w, h, col):
        """fill_rect(): clipped to the buffer; nothing at all for an empty rectangle."""
        if h < 1 or w < 1 or x + w <= 0 or y + h <= 0 or y >= self._fb_height \
                or x >= self._fb_width:
            return
        xend = min(self._fb_width, x + w)
        yend = min(self._fb_height, y + h)
        x = max(x, 0)
        y = max(y, 0)
        self._fill_unclipped(x, y, xend - x, yend - y, col)

    # --- the methods ---------------------------------------------------------------
    def fill(self, c):
        self._fill_unclipped(0, 0, self._fb_width, self._fb_height, _int(c))

    def fill_rect(self, x, y, w, h, c):
        self._fill_rect(_int(x), _int(y), _int(w), _int(h), _int(c))

    def pixel(self, x, y, c=None):
        x, y = _int(x), _int(y)
        if 0 <= x < self._fb_width and 0 <= y < self._fb_height:
            if c is None:
                return self._get(x, y)
            self._set(x, y, _int(c))
        return None

    def hline(self, x, y, w, c):
        self._fill_rect(_int(x), _int(y), _int(w), 1, _int(c))

    def vline(self, x, y, h, c):
        self._fill_rect(_int(x), _int(y), 1, _int(h), _int(c))

    def rect(self, x, y, w, h, c, f=False):
        x, y, w, h, c = _int(x), _int(y), _int(w), _int(h), _int(c)
        if f:
            self._fill_rect(x, y, w, h, c)
        else:
            self._fill_rect(x, y, w, 1, c)
            self._fill_rect(x, y + h - 1, w, 1, c)
            self._fill_rect(x, y, 1, h, c)
            self._fill_rect(x + w - 1, y, 1, h, c)

    def text(self, s, x, y, c=1):
        """The string's UTF-8 bytes up to the first NUL, each 8 pixels wide; a byte
        outside 32..127 draws as 127, so one non-ASCII character draws as two or more."""
        if not isinstance(s, str):
            raise TypeError("can't convert '%s' object to str implicitly" % type(s).__name__)
        x0, y0, col = _int(x), _int(y), _int(c)
        width, height = self._fb_width, self._fb_height
        inside = 0 <= y0 and y0 + 8 <= height  # whole columns: byte operations below
        for ch in s.encode("utf-8").split(b"\0", 1)[0]:
            if ch < 32 or ch > 127:
                ch = 127
            glyph = FONT[(ch - 32) * 8:(ch - 32) * 8 + 8]
            for column in glyph:
                if 0 <= x0 < width:
                    if inside:
                        self._column(x0, y0, column, col)
                    else:
                        yy = y0
                        while column:
                            if column & 1 and 0 <= yy < height:
                                self._set(x0, yy, col)
                            column >>= 1
                            yy += 1
                x0 += 1

    def _column(self, x, y, bits, col):
        """Pixels x, y + i for each set bit i of bits (up to 8 rows, all inside the
        buffer) to col: what setting them one by one does, a page's byte at a time."""
        b = self._fb_buf
        shifted = bits << (y & 7)
        i = (y >> 3) * self._fb_stride + x
        while shifted:
            mask = shifted & 0xFF
            if mask:
                b[i] = (b[i] | mask) if col != 0 else (b[i] & ~mask & 0xFF)
            shifted >>= 8
            i += self._fb_stride

    def blit(self, fbuf, x, y, key=-1, palette=None):
        """Another FrameBuffer's pixels at x, y; those equal to key are skipped."""
        if not isinstance(fbuf, FrameBuffer):
            raise NotImplementedError("the host framebuf blits FrameBuffer sources only")
        if palette is not None:
            raise NotImplementedError("the host framebuf blits without a palette only")
        x, y, key = _int(x), _int(y), _int(key)
        sw, sh = fbuf._fb_width, fbuf._fb_height
        if x >= self._fb_width or y >= self._fb_height or -x >= sw or -y >= sh:
            return
        if key == 0 and 0 <= y and y + sh <= self._fb_height and sh % 8 == 0:
            # Only the source's set pixels draw, as 1: whole source bytes, shifted.
            for cx in range(max(0, -x), min(sw, self._fb_width - x)):
                for page in range(sh >> 3):
                    bits = fbuf._fb_buf[page * fbuf._fb_stride + cx]
                    if bits:
                        self._column(x + cx, y + 8 * page, bits, 1)
            return
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = max(0, -x), max(0, -y)
        x0end = min(self._fb_width, x + sw)
        y0end = min(self._fb_height, y + sh)
        key &= 0xFFFFFFFF  # compared as uint32_t, as the C code does
        while y0 < y0end:
            cx1 = x1
            for cx0 in range(x0, x0end):
                col = fbuf._get(cx1, y1)
                if col != key:
                    self._set(cx0, y0, col)
                cx1 += 1
            y0 += 1
            y1 += 1
