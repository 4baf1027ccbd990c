// Runs the MicroPython WebAssembly port as if it sat behind a serial port:
// bytes from the host arrive on stdin, the REPL's output leaves on stdout.
// host_tools/pens/virtual_pen.py connects the two ends to a pseudo-terminal.
//
// The port's event-driven REPL lacks what a board has and mpremote relies on;
// this bridge supplies it:
//  - raw-paste mode: the port would block reading stdin, so the bridge speaks
//    the raw-paste protocol itself and hands the code to the raw REPL;
//  - soft reset: Ctrl-D on an empty raw line makes the port return instead of
//    rebooting, so the bridge starts a fresh interpreter on the same files;
//  - POSIX errno: the port raises Emscripten's numbers (OSError 44 for ENOENT),
//    so the file functions are wrapped to raise MicroPython's numbers;
//  - power-up and hard reset: a fresh interpreter on the same files runs
//    boot.py and then main.py, as a board does; machine.reset() (`mpremote
//    reset`) causes one, and so does a power cycle asked for on the control
//    file descriptor (--control FD: lines "power", or "service" for a power-up
//    with the reset button held);
//  - `machine`: the pins main.py uses by name (RESET, the reset button, held at a
//    "service" power-up; BUZZER, whose tones are logged in machine.tones; LED),
//    reset(), reset_cause() and idle(). idle() is where main.py waits, and where
//    Ctrl-C from the host raises KeyboardInterrupt, as it does in a board's sleep;
//    a power cycle cuts main.py there too.
//
// With --run (`cryopen virtual-pen --run`) the pen runs its firmware: main.py's
// 100 Hz loop never returns, the bytes from the host are the pen's serial line
// (read by the firmware through serial_read, not by the REPL), and each tick's
// valve commands and tip readings pass through plant(): one request line to the
// host on the --plant descriptors and one reply line back, read blocking, so the
// physical model on the host moves in step with the pen. --preload DIR puts the
// files of DIR on the pen at the first power-up, as a deploy would have.
import { readdirSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { Socket } from "node:net";
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

// The virtual pen's \`machine\`, installed in sys.modules at every start of the
// interpreter (it is no file on the pen). _virtual_pen is the bridge (HOST below).
const MACHINE_PY = `
def _virtual_machine():
    import sys, time
    import _virtual_pen as host

    class Machine:
        PWRON_RESET = 1
        HARD_RESET = 2
        WDT_RESET = 3
        SOFT_RESET = 5
        tones = []  # (ticks_ms, Hz or 0) at each change of the buzzer

        def reset(self):
            host.reset()
            raise SystemExit  # unwinds to the REPL, which the bridge then reboots

        def reset_cause(self):
            return host.reset_cause()

        def idle(self):
            event = host.idle()
            if event == 1:
                raise KeyboardInterrupt
            if event == 2:
                raise SystemExit  # the power is cut: nothing more runs

    machine = Machine()

    class Pin:
        IN = 0
        OUT = 1
        PULL_UP = 1
        PULL_DOWN = 2

        def __init__(self, id, mode=-1, pull=-1, *, value=None):
            self.id = id
            self._value = 0 if value is None else int(bool(value))

        def value(self, v=None):
            if v is not None:
                self._value = int(bool(v))
                return None
            if self.id == "RESET":
                return 0 if host.button_held() else 1
            return self._value

    class PWM:
        def __init__(self, pin, *, freq=1000, duty_u16=0):
            self._pin = pin
            self._freq = freq
            self._duty = duty_u16
            self._sounding = 0

        def freq(self, hz=None):
            if hz is None:
                return self._freq
            self._freq = hz
            self._log()

        def duty_u16(self, duty=None):
            if duty is None:
                return self._duty
            self._duty = duty
            self._log()

        def _log(self):
            now = self._freq if self._duty else 0
            if self._pin.id == "BUZZER" and now != self._sounding:
                self._sounding = now
                if len(Machine.tones) < 2000:
                    Machine.tones.append((time.ticks_ms(), now))

    Machine.Pin = Pin
    Machine.PWM = PWM
    sys.modules["machine"] = machine

_virtual_machine()
del _virtual_machine
`;

// As a board runs boot.py and main.py: in __main__, printing what they raise.
// SystemExit is machine.reset() or a power cut: the bridge takes it from there.
const runFile = (name) => `
try:
    exec(open(${JSON.stringify(name)}).read())
except SystemExit:
    pass
except Exception as e:
    import sys
    sys.print_exception(e)
`;

const POWERON_RESET = 1;
const HARD_RESET = 2;
const SOFT_RESET = 5;

// Emscripten's own mounts; everything else is the pen's file system.
const SYSTEM_DIRS = new Set(["/dev", "/proc"]);

const output = [];
let mp = null;
let resetCause = POWERON_RESET;
let buttonHeld = false; // the reset button, held through a "service" power-up
let hardReset = false; // machine.reset() was called
let hardResetCause = HARD_RESET; // or the watchdog's, on the running virtual pen
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

// What the interpreter calls in the bridge.
const HOST = {
  reset: (cause) => {
    hardReset = true;
    hardResetCause = cause === undefined ? HARD_RESET : cause;
  },
  reset_cause: () => resetCause,
  button_held: () => buttonHeld,
  idle: () => idle(),
  running: () => RUN,
  speed: () => Number(argValue("--speed") ?? 1),
  plant: (request) => plant(request),
  serial_read: (n) => serialRead(n),
  serial_write: (hex) => {
    emit(Buffer.from(hex, "hex").toString("latin1"));
    return hex.length / 2;
  },
};

function argValue(name) {
  const at = process.argv.indexOf(name);
  return at < 0 ? null : process.argv[at + 1];
}

const RUN = process.argv.includes("--run");
const PRELOAD = argValue("--preload");
const PLANT_FDS = argValue("--plant") === null ? null : argValue("--plant").split(",").map(Number);

// One exchange with the physical model on the host: a request line out, the reply
// line back. Blocking: the model answers within the tick, as the hardware would.
const plantBuf = Buffer.alloc(256);
let plantPending = "";

function plant(request) {
  if (PLANT_FDS === null) throw new Error("no physical model (--plant)");
  writeSync(PLANT_FDS[1], request + "\n");
  while (!plantPending.includes("\n")) {
    const n = readSync(PLANT_FDS[0], plantBuf, 0, plantBuf.length, null);
    if (n === 0) throw new Error("the physical model went away");
    plantPending += plantBuf.toString("latin1", 0, n);
  }
  const at = plantPending.indexOf("\n");
  const reply = plantPending.slice(0, at);
  plantPending = plantPending.slice(at + 1);
  return reply;
}

// The pen's serial line under --run: what the host sent, at most n bytes, as hex.
const serialIn = [];

function serialRead(n) {
  serialIn.push(...readNow(0));
  return Buffer.from(serialIn.splice(0, n)).toString("hex");
}

function preloaded(dir, at = "", files = []) {
  for (const name of readdirSync(dir + at).sort()) {
    const rel = `${at}/${name}`;
    if (statSync(dir + rel).isDirectory()) {
      files.push([rel, null]);
      preloaded(dir, rel, files);
    } else {
      files.push([rel, readFileSync(dir + rel)]);
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
  mp.registerJsModule("_virtual_pen", HOST);
  mp.runPython(MACHINE_PY);
}

function runIfPresent(name) {
  if (mp.FS.analyzePath("/" + name).exists) mp.runPython(runFile(name));
}

// What a board does after Ctrl-D: reboot the interpreter, keep the files, run
// boot.py, and main.py too from the friendly REPL (from the raw REPL, as
// mpremote resets, a board runs no main.py), and come back in the REPL mode it left.
async function softReset() {
  emit("MPY: soft reboot\r\n");
  resetCause = SOFT_RESET;
  await boot(snapshot(mp.FS));
  runIfPresent("boot.py");
  if (!raw) runIfPresent("main.py");
  const mark = output.length;
  mp.replInit(); // starts in the friendly REPL and prints its banner
  if (raw) {
    mp.replProcessChar(CTRL_A);
    output.length = mark;
    emit(RAW_BANNER + ">");
    rawLineLen = 0;
  }
}

// A power-up (or machine.reset()): a fresh interpreter on the files, boot.py,
// main.py, then the friendly REPL. The reset button reads held until main.py ends.
async function powerUp(cause, buttonDown) {
  do {
    hardReset = false;
    raw = false;
    rawLineLen = 0;
    held = [];
    paste = null;
    resetCause = cause;
    buttonHeld = buttonDown;
    await boot(mp === null ? (PRELOAD === null ? [] : preloaded(PRELOAD)) : snapshot(mp.FS));
    runIfPresent("boot.py");
    runIfPresent("main.py");
    buttonHeld = false;
    cause = hardResetCause;
    hardResetCause = HARD_RESET;
  } while (hardReset); // main.py reset the pen
  mp.replInit();
}

// machine.idle() on the virtual pen: waits about a millisecond, sends what the
// pen printed, and reports 1 when the host sent Ctrl-C, 2 when the power is cut,
// else 0. While Python runs the event loop is blocked, so the host's bytes and
// the control lines are read here, directly (both descriptors are non-blocking);
// bytes that are not Ctrl-C wait in the inbox for the REPL, as a board's UART
// buffer keeps them.
const IDLE_MS = 1;
const IDLE_NONE = 0;
const IDLE_CTRL_C = 1;
const IDLE_POWER_CUT = 2;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function readNow(fd) {
  const buf = Buffer.alloc(256);
  try {
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, null));
  } catch (e) {
    if (e.code === "EAGAIN") return buf.subarray(0, 0);
    throw e;
  }
}

function idle() {
  flush();
  if (control !== null) controlData(readNow(control));
  if (inbox.some((item) => typeof item === "string")) return IDLE_POWER_CUT;
  if (RUN) {
    serialIn.push(...readNow(0)); // the firmware's serial line: Ctrl-C is a byte like any other
    Atomics.wait(sleeper, 0, 0, IDLE_MS);
    return IDLE_NONE;
  }
  if (takeQueuedCtrlC()) return IDLE_CTRL_C;
  const bytes = readNow(0);
  const at = bytes.indexOf(CTRL_C);
  if (at >= 0) {
    inbox.push(Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]));
    return IDLE_CTRL_C;
  }
  if (bytes.length) inbox.push(Buffer.from(bytes));
  Atomics.wait(sleeper, 0, 0, IDLE_MS);
  return IDLE_NONE;
}

// A Ctrl-C that reached the inbox before main.py started waiting interrupts it too.
function takeQueuedCtrlC() {
  for (let i = 0; i < inbox.length; i++) {
    const item = inbox[i];
    if (typeof item === "string") return false; // a power cycle comes first
    const at = item.indexOf(CTRL_C);
    if (at >= 0) {
      inbox[i] = Buffer.concat([item.subarray(0, at), item.subarray(at + 1)]);
      return true;
    }
  }
  return false;
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

// Bytes from the host (Buffers) and power cycles ("power", "service"), in order.
const inbox = [];
let pumping = false;

async function pump() {
  if (pumping) return;
  pumping = true;
  while (inbox.length) {
    const item = inbox.shift();
    if (typeof item === "string") {
      flush();
      await powerUp(POWERON_RESET, item === "service");
    } else {
      for (const c of item) {
        if (receive(c)) {
          flush();
          if (hardReset) await powerUp(HARD_RESET, false);
          else await softReset();
        }
      }
    }
    flush();
  }
  pumping = false;
}

// The control descriptor: "power" and "service" lines, each a power cycle.
const control = controlFd();
let controlPending = "";

function controlFd() {
  return argValue("--control") === null ? null : Number(argValue("--control"));
}

function controlData(chunk) {
  controlPending += chunk.toString("latin1");
  const lines = controlPending.split("\n");
  controlPending = lines.pop();
  for (const line of lines) {
    const what = line.trim();
    if (what === "power" || what === "service") {
      inbox.push(what);
    } else if (what) {
      process.stderr.write(`virtual pen: unknown control "${what}" (power, service)\n`);
    }
  }
}

// Both are read as non-blocking sockets from here on, so that idle() can read them too.
const stdin = process.stdin;
if (control !== null) {
  new Socket({ fd: control, readable: true, writable: false }).on("data", (chunk) => {
    controlData(chunk);
    pump();
  });
}
await powerUp(POWERON_RESET, false);
flush();
stdin.on("data", (chunk) => {
  inbox.push(chunk);
  pump();
});
pump(); // what arrived while the first power-up ran
// The parent holds the other end of stdin: when it goes, so does the bridge.
stdin.on("end", () => process.exit(0));
process.stdout.on("error", () => process.exit(0));
