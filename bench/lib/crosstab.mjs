// Cross-tab latency, shared by bench/crosstab.mjs and bench/run.mjs.
//
// Two pages of one browser context (same origin, same storage). Each sample
// is one message from page A to page B, sent only after the previous one
// arrived (B acknowledges on a separate channel). Latency is B's receive time
// minus A's send time, both read as performance.timeOrigin + performance.now()
// (one machine, one clock).
//   raw:     A channel.postMessage({ i })          -> B channel.onmessage
//   session: A s.set("k", i) (default options)     -> B's s.subscribe callback
// Raw and session samples alternate.
import { stats, watchErrors, runId } from "./harness.mjs";

export const FIXTURE = "tests/e2e/fixture.html";
export const METHOD =
  "2 pages of one browser context; one message at a time (B acknowledges on a separate BroadcastChannel before A sends the next); latency = B's receive time - A's send time, both performance.timeOrigin + performance.now()";
export const RAW_WHAT = "BroadcastChannel.postMessage({ i }) -> onmessage in the other page";
export const SESSION_WHAT = 's.set("k", i) -> subscribe callback (change.source "tab") in the other page; openSession default options';

// In both pages: a clock, and an acknowledgement channel B -> A so A sends the
// next message only once the previous one arrived.
function setup(ackChannel) {
  window.now = () => performance.timeOrigin + performance.now();
  window.received = { raw: [], session: [] };
  window.ack = new BroadcastChannel(ackChannel);
  window.acked = new Map();
  ack.onmessage = (e) => {
    const waiter = acked.get(e.data);
    if (waiter) waiter();
    acked.set(e.data, true);
  };
  // Resolves when B acknowledged message i (or rejects after a timeout).
  window.ackOf = (i, timeout) =>
    new Promise((resolve, reject) => {
      if (acked.get(i) === true) return resolve();
      const timer = setTimeout(() => reject(new Error(`message ${i} never arrived`)), timeout);
      acked.set(i, () => {
        clearTimeout(timer);
        resolve();
      });
    });
}

// In page B: record the receive time first thing, then acknowledge.
async function listen({ rawName, name }) {
  const raw = new BroadcastChannel(rawName);
  raw.onmessage = (e) => {
    const t = now();
    received.raw[e.data.i] = t;
    ack.postMessage(`raw:${e.data.i}`);
  };
  window.s = await sp.openSession({ name });
  s.subscribe((ctx, change) => {
    const t = now();
    if (change.source !== "tab" || !change.keys.includes("k")) return;
    received.session[ctx.k] = t;
    ack.postMessage(`session:${ctx.k}`);
  });
}

// In page A: n rounds, each one raw message then one session change, each
// sent only once the previous one arrived (interleaved, so both kinds see the
// same machine load).
async function run({ n, timeout }) {
  const ch = new BroadcastChannel(window.rawName);
  const sent = { raw: [], session: [] };
  for (let i = 0; i < n; i++) {
    let t = now();
    ch.postMessage({ i });
    sent.raw[i] = t;
    await ackOf(`raw:${i}`, timeout);
    t = now();
    s.set("k", i);
    sent.session[i] = t;
    await ackOf(`session:${i}`, timeout);
  }
  ch.close();
  return sent;
}

/**
 * Runs the cross-tab benchmark in two new pages of `context` (closed after).
 * Returns `{ raw, session, ratio, crossOriginIsolated }` (stats in ms);
 * throws if a page logged an error or a message never arrived.
 */
export async function measureCrosstab(context, baseUrl, { warmup = 30, samples = 300, timeout = 5000 } = {}) {
  const errors = [];
  const pages = [];
  try {
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      watchErrors(page, errors, `crosstab tab ${i}`);
      await page.goto(baseUrl + FIXTURE);
      await page.waitForFunction(() => window.ready === true);
      pages.push(page);
    }
    const [a, b] = pages;
    const id = runId();
    const name = `bench-crosstab-${id}`;
    const rawName = `bench-raw-${id}`;
    for (const p of pages) await p.evaluate(setup, `bench-ack-${id}`);
    await b.evaluate(listen, { rawName, name });
    await a.evaluate(async ({ rawName, name }) => {
      window.rawName = rawName;
      window.s = await sp.openSession({ name });
    }, { rawName, name });

    const n = warmup + samples;
    const sent = await a.evaluate(run, { n, timeout });
    const received = await b.evaluate(() => received);
    const latencies = (kind) => {
      const out = [];
      for (let i = warmup; i < n; i++) out.push(received[kind][i] - sent[kind][i]);
      return out;
    };
    const raw = stats(latencies("raw"));
    const session = stats(latencies("session"));
    const crossOriginIsolated = await a.evaluate(() => self.crossOriginIsolated);
    for (const p of pages) await p.evaluate(() => window.s.close());
    if (errors.length) throw new Error(`the cross-tab pages logged errors: ${JSON.stringify(errors)}`);
    return { raw, session, ratio: { median: session.median / raw.median, p95: session.p95 / raw.p95 }, crossOriginIsolated };
  } finally {
    for (const p of pages) await p.close();
  }
}
