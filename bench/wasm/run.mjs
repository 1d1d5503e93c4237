// Run a MicroPython program on the WebAssembly port (32-bit): bench/heap32.py.
//   node run.mjs DIR HEAP_BYTES PROGRAM [STATEMENT ...]
// Every file in DIR (not its folders) is copied into the port's filesystem
// at /work, which is then the current folder; PROGRAM (a file in DIR) runs
// there with a GC heap of HEAP_BYTES. With STATEMENTs, PROGRAM runs with
// STEPWISE = True and then each STATEMENT as a call of its own: this port
// frees garbage only between calls (its GC cannot scan the WebAssembly
// stack while Python runs). Output goes to stdout; an exception makes the
// exit code 1.
import { readdirSync, readFileSync, statSync } from "fs";
import { join } from "path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const [dir, heap, program, ...statements] = process.argv.slice(2);
const mp = await loadMicroPython({
  heapsize: parseInt(heap, 10),
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
mp.FS.mkdir("/work");
for (const name of readdirSync(dir)) {
  if (statSync(join(dir, name)).isFile()) {
    mp.FS.writeFile("/work/" + name, readFileSync(join(dir, name)));
  }
}
try {
  const stepwise = statements.length ? "STEPWISE = True\n" : "";
  mp.runPython(stepwise + "import os\nos.chdir('/work')\nexec(open('" + program + "').read())");
  for (const statement of statements) {
    mp.runPython(statement);
  }
} catch (error) {
  process.stderr.write(String(error) + "\n");
  process.exit(1);
}
