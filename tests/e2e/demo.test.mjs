// The demo page (www/) works as a person would use it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useBrowser } from "./helpers.mjs";

const browser = useBrowser();
const T = { timeout: 60_000 };

const contextShown = (tab) => tab.page.locator("#context").textContent().then((t) => JSON.parse(t));

test("demo: a value set in the form is shown and is still there after a reload", T, async () => {
  const tab = await browser.open("www/");
  assert.equal(await tab.page.locator("#error").isVisible(), false, "no error shown");
  assert.equal(await tab.page.locator('[data-field="backend"]').textContent(), "indexeddb");

  await tab.page.fill("#key", "profile");
  await tab.page.fill("#value", '{"name":"Ada","langs":["rust","js"]}');
  await tab.page.click("#set");
  await tab.page.fill("#key", "note");
  await tab.page.fill("#value", "plain text, not JSON");
  await tab.page.click("#set");
  const expected = { profile: { name: "Ada", langs: ["rust", "js"] }, note: "plain text, not JSON" };
  assert.deepEqual(await contextShown(tab), expected);

  await tab.reload(); // no "Save now": the pagehide flush or the debounce must have saved it
  assert.deepEqual(await contextShown(tab), expected);
  assert.equal(await tab.page.locator('[data-field="restoreCount"]').textContent(), "1");

  await tab.page.fill("#key", "note");
  await tab.page.click("#delete");
  assert.deepEqual(await contextShown(tab), { profile: expected.profile });
  tab.assertNoErrors();
});

test("demo: snapshots can be created, restored and deleted from the page", T, async () => {
  const tab = await browser.open("www/");
  const { page } = tab;
  await page.fill("#key", "step");
  await page.fill("#value", "1");
  await page.click("#set");
  await page.fill("#snapshot-name", "at step 1");
  await page.click("#snapshot");
  await page.locator("#snapshots li", { hasText: "at step 1" }).waitFor();

  await page.fill("#value", "2");
  await page.click("#set");
  assert.deepEqual(await contextShown(tab), { step: 2 });

  await page.locator("#snapshots li", { hasText: "at step 1" }).getByRole("button", { name: "Restore" }).click();
  await page.waitForFunction(() => JSON.parse(document.getElementById("context").textContent).step === 1);
  await page.locator("#snapshots li", { hasText: "pre-restore" }).first().waitFor();

  await page.locator("#snapshots li", { hasText: "at step 1" }).getByRole("button", { name: "Delete" }).click();
  await page.locator("#snapshots li", { hasText: "at step 1" }).waitFor({ state: "detached" });
  assert.equal(await page.locator("#error").isVisible(), false, "no error shown");
  tab.assertNoErrors();
});

test("demo: an error is shown on the page with its code", T, async () => {
  const tab = await browser.open("www/");
  await tab.eval(() => window.session.close());
  await tab.page.fill("#key", "x");
  await tab.page.fill("#value", "1");
  await tab.page.click("#set");
  await tab.page.locator("#error").waitFor({ state: "visible" });
  assert.match(await tab.page.locator("#error code").textContent(), /^CLOSED$/);
  tab.assertNoErrors();
});
