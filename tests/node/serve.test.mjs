// The static server used by the demo and the end-to-end tests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../scripts/serve.mjs";

let root, server;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "sp-serve-"));
  await mkdir(join(root, "www"));
  await mkdir(join(root, "dist", "wasm"), { recursive: true });
  await mkdir(join(root, ".git"));
  await writeFile(join(root, "www", "index.html"), "<!doctype html><title>demo</title>");
  await writeFile(join(root, "dist", "index.js"), "export {};");
  await writeFile(join(root, "dist", "wasm", "m_bg.wasm"), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  await writeFile(join(root, ".git", "config"), "secret");
  await writeFile(join(root, "..", "sp-serve-outside.txt"), "outside");
  server = await startServer({ port: 0, root });
});

after(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
  await rm(join(root, "..", "sp-serve-outside.txt"), { force: true });
});

// Raw request so the path is sent exactly as written (fetch would normalize "..").
function get(path) {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("startServer on port 0 listens on 127.0.0.1 and reports the real port", () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.notEqual(new URL(server.url).port, "0");
});

test("/ redirects to the fixture page, and a folder serves its index.html", async () => {
  const r = await get("/");
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, "/tests/e2e/fixture.html");
  const page = await get("/www/");
  assert.equal(page.status, 200);
  assert.match(page.headers["content-type"], /^text\/html/);
  assert.match(page.body, /<title>demo<\/title>/);
});

test("files get the right MIME type and Cache-Control: no-store", async () => {
  const js = await get("/dist/index.js");
  assert.equal(js.status, 200);
  assert.match(js.headers["content-type"], /^text\/javascript/);
  assert.equal(js.headers["cache-control"], "no-store");
  const wasm = await get("/dist/wasm/m_bg.wasm");
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers["content-type"], "application/wasm");
  assert.equal(wasm.headers["cache-control"], "no-store");
});

test("paths escaping the root are refused and dotfiles are not served", async () => {
  for (const p of ["/../sp-serve-outside.txt", "/www/..%2f..%2fsp-serve-outside.txt", "/%2e%2e/sp-serve-outside.txt"]) {
    const r = await get(p);
    assert.ok(r.status === 403 || r.status === 404, `${p} -> ${r.status}`);
    assert.doesNotMatch(r.body, /outside/);
  }
  const git = await get("/.git/config");
  assert.equal(git.status, 404);
  assert.doesNotMatch(git.body, /secret/);
  assert.equal((await get("/nope.js")).status, 404);
});
