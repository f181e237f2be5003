// A tiny static server for the demo and the end-to-end tests (no dependencies).
// Serves the repo root, so /dist/ and /tests/e2e/ are reachable: the static
// server of the end-to-end tests and benchmarks (the demo is the Next.js app
// in www/, served by scripts/demo.sh).
//
//   node scripts/serve.mjs            # PORT env, default 8080; PORT=0 picks a free one
//   import { startServer } from "./serve.mjs"; const { url, close } = await startServer({ port: 0 });
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/**
 * Starts the server; resolves to `{ url, close }` once it listens on 127.0.0.1.
 * `handle(req, res)`: extra routes (tests), tried first; returns true if it answered.
 */
export function startServer({ port = 8080, root = REPO_ROOT, handle } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    if (handle?.(req, res)) return;
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8", ...headers });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n", { Allow: "GET, HEAD" });

    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      return send(400, "bad request\n");
    }
    if (pathname === "/") return send(302, "", { Location: "/tests/e2e/fixture.html" });
    if (pathname.includes("\0")) return send(400, "bad request\n");
    const segments = pathname.split("/");
    if (segments.some((s) => s.startsWith(".") && s !== "." && s !== "..")) return send(404, "not found\n"); // .git, .env

    let file = resolve(join(base, pathname));
    if (file !== base && !file.startsWith(base + sep)) return send(403, "forbidden\n");
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        // /www -> /www/ so relative URLs in index.html resolve inside the folder.
        if (!pathname.endsWith("/")) return send(301, "", { Location: pathname + "/" });
        file = join(file, "index.html");
        st = await stat(file);
      }
      if (!st.isFile()) return send(404, "not found\n");
      res.writeHead(200, {
        "Content-Type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream",
        "Content-Length": st.size,
        "Cache-Control": "no-store",
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(file).on("error", () => res.destroy()).pipe(res);
    } catch {
      send(404, "not found\n");
    }
  });

  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}/`;
      const close = () =>
        new Promise((done) => {
          server.closeAllConnections?.();
          server.close(() => done());
        });
      resolvePromise({ url, close, server });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  const { url, close } = await startServer({ port });
  console.log(`serving ${url}`);
  console.log(`fixture page: ${url}tests/e2e/fixture.html   (Ctrl-C to stop)`);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => close().then(() => process.exit(0)));
}
