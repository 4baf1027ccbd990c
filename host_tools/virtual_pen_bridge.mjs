// Runs the MicroPython WebAssembly port as if it sat behind a serial port:
// bytes from the host arrive on stdin, the REPL's output leaves on stdout.
// host_tools/virtual_pen.py connects the two ends to a pseudo-terminal.
//
// The port's event-driven REPL lacks three things a board has, and mpremote
// relies on all three; this bridge supplies them:
//  - raw-paste mode: the port would block reading stdin, so the bridge speaks
//    the raw-paste protocol itself and hands the code to the raw REPL;
//  - soft reset: Ctrl-D on an empty raw line makes the port return instead of
//    rebooting, so the bridge starts a fresh interpreter on the same files;
//  - POSIX errno: the port raises Emscripten's numbers (OSError 44 for ENOENT),
//    so the file functions are wrapped to raise MicroPython's numbers.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const CTRL_A = 0x01;
const CTRL_B = 0x02;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_E = 0x05;
const RAW_BANNER = "raw REPL; CTRL-B to exit\r\n";
// MicroPython's default stdin buffer is 256 bytes; the raw-paste window is half of it.
const PASTE_WINDOW = 128;

// Emscripten errno -> MicroPython (= Linux) errno, for the errors a file system raises.
const ERRNO = {
  63: 1, // EPERM
  44: 2, // ENOENT
  29: 5, // EIO
  8: 9, // EBADF
  6: 11, // EAGAIN
  48: 12, // ENOMEM
  2: 13, // EACCES
  10: 16, // EBUSY
  20: 17, // EEXIST
  75: 18, // EXDEV
  43: 19, // ENODEV
  54: 20, // ENOTDIR
  31: 21, // EISDIR
  28: 22, // EINVAL
  41: 23, // ENFILE
  33: 24, // EMFILE
  22: 27, // EFBIG
  51: 28, // ENOSPC
  70: 29, // ESPIPE
  69: 30, // EROFS
  34: 31, // EMLINK
  37: 36, // ENAMETOOLONG
  52: 38, // ENOSYS
  55: 39, // ENOTEMPTY
  32: 40, // ELOOP
  138: 95, // EOPNOTSUPP
};

const POSIX_ERRNO_PY = `
def _posix_errno(table):
    import builtins, io, os

    def wrap(f):
        def call(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except OSError as e:
                if e.errno not in table:
                    raise
                raise OSError(table[e.errno])
        return call

    for name in ("chdir", "getcwd", "ilistdir", "listdir", "mkdir", "remove", "rename",
                 "rmdir", "stat", "statvfs", "unlink"):
        setattr(os, name, wrap(getattr(os, name)))
    builtins.open = io.open = wrap(builtins.open)

_posix_errno(${JSON.stringify(ERRNO).replace(/"/g, "")})
del _posix_errno
`;

// As a board runs boot.py: in __main__, printing what it raises.
const RUN_BOOT_PY = `
try:
    exec(open("boot.py").read())
except Exception as e:
    import sys
    sys.print_exception(e)
`;

// Emscripten's own mounts; everything else is the pen's file system.
const SYSTEM_DIRS = new Set(["/dev", "/proc"]);

const output = [];
let mp = null;
let raw = false; // the REPL is in raw mode
let rawLineLen = 0; // bytes on the current raw line
let held = []; // the start of a raw-paste request (Ctrl-E, 'A') not yet passed on
let paste = null; // the code received in raw-paste mode, or null
let pasteRoom = 0;

function emit(text) {
  for (const c of Buffer.from(text, "latin1")) output.push(c);
}

function flush() {
  if (output.length) {
    process.stdout.write(Buffer.from(output));
    output.length = 0;
  }
}

function snapshot(fs, dir = "/", files = []) {
  for (const name of fs.readdir(dir)) {
    if (name === "." || name === "..") continue;
    const path = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (SYSTEM_DIRS.has(path)) continue;
    if (fs.isDir(fs.stat(path).mode)) {
      files.push([path, null]);
      snapshot(fs, path, files);
    } else {
      files.push([path, fs.readFile(path)]);
    }
  }
  return files;
}

async function boot(files) {
  const sink = (bytes) => {
    for (const c of bytes) output.push(c);
  };
  mp = await loadMicroPython({ stdout: sink, stderr: sink, linebuffer: false });
  for (const [path, data] of files) {
    if (data === null) mp.FS.mkdirTree(path);
    else mp.FS.writeFile(path, data);
  }
  mp.runPython(POSIX_ERRNO_PY);
}

// What a board does after Ctrl-D: reboot the interpreter, keep the files, run
// boot.py and come back in the REPL mode it left. main.py is not run: the port
// cannot interrupt a program that never returns.
async function softReset() {
  emit("MPY: soft reboot\r\n");
  await boot(snapshot(mp.FS));
  if (mp.FS.analyzePath("/boot.py").exists) {
    mp.runPython(RUN_BOOT_PY);
  }
  const mark = output.length;
  mp.replInit(); // starts in the friendly REPL and prints its banner
  if (raw) {
    mp.replProcessChar(CTRL_A);
    output.length = mark;
    emit(RAW_BANNER + ">");
    rawLineLen = 0;
  }
}

// Passes one byte to the port's REPL; true when the REPL asks for a soft reset.
function feed(c) {
  const mark = output.length;
  const exit = mp.replProcessChar(c) !== 0;
  if (raw) {
    if (c === CTRL_B) raw = false;
    rawLineLen = c === CTRL_A || c === CTRL_C || c === CTRL_D ? 0 : rawLineLen + 1;
  } else if (c === CTRL_A && Buffer.from(output.slice(mark)).includes(RAW_BANNER)) {
    raw = true;
    rawLineLen = 0;
  }
  return exit;
}

// Runs the pasted code through the raw REPL, which answers "OK" first; raw-paste does not.
// Bytes 0x01-0x04 in the code would act on the raw REPL; mpremote never sends them raw.
function runPasted(code) {
  for (const c of code) feed(c);
  const mark = output.length;
  const exit = feed(CTRL_D);
  if (output[mark] === 0x4f && output[mark + 1] === 0x4b) output.splice(mark, 2);
  return exit;
}

function pasteByte(c) {
  if (c === CTRL_D || c === CTRL_C) {
    const code = c === CTRL_D ? paste : Buffer.from("raise KeyboardInterrupt");
    paste = null;
    emit("\x04"); // end of data acknowledged
    return runPasted(code);
  }
  paste.push(c);
  if (--pasteRoom === 0) {
    emit("\x01"); // one more window is free
    pasteRoom = PASTE_WINDOW;
  }
  return false;
}

// One byte from the host; true when a soft reset must follow.
function receive(c) {
  if (paste !== null) return pasteByte(c);
  if (raw && rawLineLen === 0 && held.length === 0 && c === CTRL_E) {
    held.push(c);
    return false;
  }
  if (held.length === 1 && c === 0x41) {
    held.push(c);
    return false;
  }
  if (held.length === 2 && c === CTRL_A) {
    held = [];
    paste = [];
    pasteRoom = PASTE_WINDOW;
    emit("R\x01" + String.fromCharCode(PASTE_WINDOW & 0xff, PASTE_WINDOW >> 8) + "\x01");
    return false;
  }
  const pending = held.concat([c]);
  held = [];
  let exit = false;
  for (const b of pending) exit = feed(b) || exit;
  return exit;
}

const inbox = [];
let pumping = false;

async function pump() {
  if (pumping) return;
  pumping = true;
  while (inbox.length) {
    const chunk = inbox.shift();
    for (const c of chunk) {
      if (receive(c)) {
        flush();
        await softReset();
      }
    }
    flush();
  }
  pumping = false;
}

await boot([]);
mp.replInit();
flush();
process.stdin.on("data", (chunk) => {
  inbox.push(chunk);
  pump();
});
// The parent holds the other end of stdin: when it goes, so does the bridge.
process.stdin.on("end", () => process.exit(0));
process.stdout.on("error", () => process.exit(0));
