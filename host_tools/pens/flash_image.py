"""A pen's flash as a littlefs image file on the host, through littlefs-python
(the same littlefs C library the ports use). The simulated pen keeps its state and
its treatment record here (`cryopen simulate --flash FILE`), and `cryopen logs
--flash FILE` reads one.

Never formats an image it was given: a file that does not mount is refused.
"""
import os

from littlefs import LittleFS, UserContext
from littlefs.errors import LittleFSError

BLOCK_SIZE = 4096  # the RP2040 flash's erase block, and the rp2 port's littlefs block
BLOCK_COUNT = 128  # 512 KiB


class ImageError(ValueError):
    pass


def _os_error(e):
    return OSError(-e.code if hasattr(e, "code") else 5, str(e))


def _errno(e):
    """littlefs-python raises some errors as FileNotFoundError and the like without an
    errno; the ports' OSError always has one (ENOENT is what "no such file" reads as)."""
    if e.errno is None and isinstance(e.__cause__, LittleFSError):
        return _os_error(e.__cause__)
    return e


class _File:
    """An open littlefs-python file whose errors are OSError, as a port's file's are
    (a write that fails, e.g. on a full image, must reach hal.storage's callers as
    the device's OSError, not as a foreign exception)."""

    def __init__(self, f):
        self._f = f

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except LittleFSError as e:
            raise _os_error(e)

    def read(self, *args):
        return self._call(self._f.read, *args)

    def write(self, data):
        return self._call(self._f.write, data)

    def close(self):
        try:
            self._f.close()
        except LittleFSError as e:
            # littlefs releases a file even when closing it fails (lfs_file_close), but
            # littlefs-python then still counts it open, and closing it again (as the
            # garbage collector does) trips littlefs's assertion and aborts the process.
            setattr(getattr(self._f, "raw", self._f), "__IOBase_closed", True)
            raise _os_error(e)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LfsFs:
    """littlefs-python behind the interface hal.storage takes (`os`-like): its
    errors become OSError, as the ports raise them, from its files too."""

    def __init__(self, lfs):
        self._lfs = lfs

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except LittleFSError as e:
            raise _os_error(e)
        except OSError as e:
            raise _errno(e)

    def open(self, path, mode):
        if "a" in mode:
            # The ports open "a" with LFS_O_CREAT (extmod/vfs_lfsx_file.c); littlefs-python
            # does not create the file: make it first, as the port would.
            try:
                _File(self._call(self._lfs.open, path, "xb")).close()
            except OSError:
                pass  # it exists
        return _File(self._call(self._lfs.open, path, mode))

    def rename(self, a, b):
        return self._call(self._lfs.rename, a, b)

    def remove(self, path):
        return self._call(self._lfs.remove, path)

    def listdir(self, path):
        return self._call(self._lfs.listdir, path)

    def mkdir(self, path):
        return self._call(self._lfs.mkdir, path)


def new_image():
    """A freshly formatted image: (LittleFS, context)."""
    ctx = UserContext(BLOCK_SIZE * BLOCK_COUNT)
    lfs = LittleFS(context=ctx, block_size=BLOCK_SIZE, block_count=BLOCK_COUNT)
    return lfs, ctx


def mount_bytes(data):
    """Mounts an image held in memory; ImageError if it is not a littlefs image."""
    if len(data) == 0 or len(data) % BLOCK_SIZE:
        raise ImageError("not a flash image: %d bytes is not a whole number of %d-byte blocks"
                         % (len(data), BLOCK_SIZE))
    ctx = UserContext(buffer=bytearray(data))
    # mount=False: LittleFS() would otherwise format the image when it does not mount.
    lfs = LittleFS(context=ctx, mount=False, block_size=BLOCK_SIZE,
                   block_count=len(data) // BLOCK_SIZE)
    try:
        lfs.mount()
    except LittleFSError as e:
        raise ImageError("not a littlefs image (%s); it is left as it is" % e)
    return lfs, ctx


def load(path, create=False):
    """(LittleFS, context) from an image file; a new image if it does not exist and
    create is set. ImageError with a message otherwise."""
    if not os.path.exists(path):
        if create:
            return new_image()
        raise ImageError("%s: no such file" % path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImageError("cannot read %s: %s" % (path, e.strerror))
    try:
        return mount_bytes(data)
    except ImageError as e:
        raise ImageError("%s: %s" % (path, e))


def save(path, ctx):
    """Writes the image back whole: a new file, renamed over the old one."""
    tmp = path + ".new"
    try:
        with open(tmp, "wb") as f:
            f.write(bytes(ctx.buffer))
        os.replace(tmp, path)
    except OSError as e:
        raise ImageError("cannot write %s: %s" % (path, e.strerror))
