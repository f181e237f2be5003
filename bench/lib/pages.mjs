// Opening and reloading bench/pages/bench.html (every library loaded, the
// helpers of page-helpers.mjs installed).
import { installHelpers } from "./page-helpers.mjs";
import { watchErrors } from "./harness.mjs";

export const BENCH_PAGE = "bench/pages/bench.html";

async function ready(page) {
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(installHelpers);
}

/** A new tab of `context` on the bench page; its errors go to `errors`. */
export async function openBenchPage(context, url, errors, label) {
  const page = await context.newPage();
  watchErrors(page, errors, label);
  await page.goto(url + BENCH_PAGE);
  await ready(page);
  return page;
}

/** Reloads the bench page (a new document: libraries loaded, nothing opened). */
export async function reloadBenchPage(page) {
  await page.reload();
  await ready(page);
}
