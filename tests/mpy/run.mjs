// Runs the core tests under the real MicroPython interpreter (WebAssembly port).
//
//   node tests/mpy/run.mjs                      run tests/core/test_*.py and tests/mpy/test_*.py
//                                               (CRYOPEN_MPY_PART=K/N: every Nth of them from the Kth)
//   node tests/mpy/run.mjs --exec FILE.py [ARG...]
//                                               run FILE.py as __main__ instead (benchmarks);
//                                               sys.argv is [FILE.py, ARG...]; the file sits at
//                                               /cryopen/<its repo path> (/cryopen/exec/<name>
//                                               if outside the repo); exit status from sys.exit();
//                                               functions listed in its STEPS run after it, each
//                                               in its own call, after a garbage collection
//
// The device modules (firmware/, hal/, boards/)
// and the test modules are copied into the interpreter's file system under
// /cryopen with their package structure, so imports read as they do on the pen.
// Test mode prints a count per module and ends with one line "N passed, M failed";
// the exit status is non-zero when a test fails, when none ran, or when the
// interpreter itself fails or runs past TIMEOUT_MS.
//
// The interpreter runs in a worker thread: a test that loops, or that dies with
// the heap locked (which hangs this port), is stopped by the timeout instead of
// hanging the build.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FS_ROOT = "/cryopen";
const TIMEOUT_MS = 180000; // the whole suite takes about 35 s on a loaded core

function pyFiles(dir, recursive) {
  const found = [];
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) {
      if (recursive && name !== "__pycache__") found.push(...pyFiles(rel, true));
    } else if (name.endsWith(".py")) {
      found.push(rel);
    }
  }
  return found;
}

function sources() {
  const files = [
    ...pyFiles("firmware", false),
    ...pyFiles("hal", false),
    ...pyFiles("boards", true),
    "tests/__init__.py",
    "tests/host/__init__.py",
    "tests/host/machine_fake.py", // the `machine` stand-ins for hal/machine_hal.py: the shared base
    "tests/host/machine_rp2.py", // and one per port
    "tests/host/machine_esp32.py",
    ...pyFiles("tests/core", false),
    ...pyFiles("tests/mpy", false),
  ];
  const found = files.map((rel) => [rel.split(sep).join("/"), readFileSync(join(ROOT, rel), "utf8")]);
  // micropython-lib's display driver, where `import ssd1306` finds it, as mip or a
  // frozen build puts it on a pen (host_tools/sim/vendor/README.md).
  found.push(["ssd1306.py", readFileSync(join(ROOT, "host_tools", "sim", "vendor", "ssd1306.py"), "utf8")]);
  return found;
}

function testModules(files) {
  const all = files
    .map(([rel]) => rel)
    .filter((rel) => /^tests\/(core|mpy)\/test_[^/]*\.py$/.test(rel))
    .map((rel) => rel.slice(0, -3).split("/").join("."));
  // CRYOPEN_MPY_PART=K/N: every Nth module from the Kth (1-based), so that N
  // interpreters can share the modules between them (tests/host/test_micropython_suite.py).
  const part = /^(\d+)\/(\d+)$/.exec(process.env.CRYOPEN_MPY_PART || "1/1");
  if (!part || +part[1] < 1 || +part[1] > +part[2]) usage();
  return all.filter((_, i) => i % +part[2] === +part[1] - 1);
}

function usage() {
  console.error("usage: [CRYOPEN_MPY_PART=K/N] node tests/mpy/run.mjs [--exec FILE.py [ARG...]]");
  process.exit(2);
}

function main() {
  const args = process.argv.slice(2);
  let job;
  if (args.length === 0) {
    const files = sources();
    job = { files, modules: testModules(files) };
  } else if (args[0] === "--exec" && args.length >= 2) {
    const path = resolve(args[1]);
    const rel = relative(ROOT, path);
    const inRepo = !rel.startsWith("..") && !rel.startsWith(sep);
    const fsRel = inRepo ? rel.split(sep).join("/") : "exec/" + path.split(sep).pop();
    const files = sources().filter(([f]) => f !== fsRel);
    files.push([fsRel, readFileSync(path, "utf8")]);
    job = { files, exec: fsRel, argv: args.slice(1) };
  } else {
    usage();
  }

  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const timer = setTimeout(() => {
    console.error(`interpreter still running after ${TIMEOUT_MS} ms: stopped`);
    process.exitCode = 1;
    worker.terminate();
  }, TIMEOUT_MS);
  let status = 1; // stays 1 unless the worker reports a result
  worker.on("message", (msg) => {
    if (msg.line !== undefined) process.stdout.write(msg.line + "\n");
    else if (msg.err !== undefined) process.stderr.write(msg.err + "\n");
    else if (msg.status !== undefined) status = msg.status;
  });
  worker.on("error", (e) => {
    console.error("interpreter failed:", e && e.stack ? e.stack : e);
  });
  worker.on("exit", () => {
    clearTimeout(timer);
    if (!process.exitCode) process.exitCode = status;
  });
}

const py = JSON.stringify; // a JSON string literal is a valid Python string literal

async function work({ files, modules, exec, argv }) {
  const { loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript");
  const mp = await loadMicroPython({
    stdout: (line) => parentPort.postMessage({ line }),
    stderr: (err) => parentPort.postMessage({ err }),
  });
  for (const [rel, text] of files) {
    const path = `${FS_ROOT}/${rel}`;
    mp.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    mp.FS.writeFile(path, text);
  }
  mp.runPython(`import sys\nsys.path.insert(0, ${py(FS_ROOT)})`);
  if (exec !== undefined) {
    mp.runPython(`
import sys
sys.argv[:] = [${argv.map(py).join(", ")}]
_status = 0
try:
    execfile(${py(FS_ROOT + "/" + exec)})
except SystemExit as e:
    code = e.args[0] if e.args else None
    _status = code if isinstance(code, int) else int(code is not None)
except BaseException as e:
    sys.print_exception(e)
    _status = 1
`);
    // This port's gc.collect() reclaims nothing until control returns to the host,
    // so a script that measures the heap lists its phases in STEPS: each runs in
    // its own call, after a collection.
    mp.runPython(`_steps = globals().get("STEPS", []) if _status == 0 else []\n_n_steps = len(_steps)`);
    const steps = mp.globals.get("_n_steps");
    for (let i = 0; i < steps && mp.globals.get("_status") === 0; i++) {
      mp.runPython(`
import gc
gc.collect()
try:
    _steps[${i}]()
except BaseException as e:
    sys.print_exception(e)
    _status = 1
`);
    }
    return mp.globals.get("_status");
  }
  mp.runPython(`
from tests.mpy import harness
_passed, _failed = harness.main([${modules.map(py).join(", ")}])
`);
  const passed = mp.globals.get("_passed");
  const failed = mp.globals.get("_failed");
  return failed === 0 && passed > 0 ? 0 : 1;
}

if (isMainThread) {
  main();
} else {
  work(workerData).then(
    (status) => parentPort.postMessage({ status }),
    (e) => {
      parentPort.postMessage({ err: "interpreter failed: " + (e && e.stack ? e.stack : e) });
      parentPort.postMessage({ status: 1 });
    },
  );
}
