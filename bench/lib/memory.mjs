// 8. Wasm linear memory while holding a 1 MB context. In a new tab: open a
// session, update it with the 1 MB context, await save(), then read the
// memory of the wasm instance that dist/index.js uses. Importing the
// wasm-bindgen glue (--target web) again from the page yields the same module
// instance (same URL), and its default export, init(), returns the exports
// it already instantiated (which include `memory`) without loading again.
import { openBenchPage } from "./pages.mjs";

async function wasmMemory({ name, bytes }) {
  const s = await sp.openSession({ name });
  const glue = await import("/dist/wasm/session_persist.js");
  const exports = await glue.default(); // already initialised: the cached exports
  const size = () => exports.memory.buffer.byteLength;
  const opened = size();
  s.update(bench.makeContext(bytes));
  await s.save();
  const held = size();
  await s.close();
  return { opened, held, afterClose: size() };
}

/** Reads the memory of the wasm instance of `page` (already opened a session). */
export async function currentWasmMemory(page) {
  return page.evaluate(async () => {
    const glue = await import("/dist/wasm/session_persist.js");
    return (await glue.default()).memory.buffer.byteLength;
  });
}

export async function measureMemory(context, url, errors, { bytes, run, log }) {
  const page = await openBenchPage(context, url, errors, "memory");
  try {
    const r = await page.evaluate(wasmMemory, { name: `bench-${run}-memory`, bytes });
    log(`memory: wasm memory ${r.opened} B after open, ${r.held} B holding ${bytes} B`);
    return r;
  } finally {
    await page.close();
  }
}
