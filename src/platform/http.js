// Requests of the auth session. In JS because a Request's headers, body and
// signal are handled here in a few lines, and each try needs its own copy of
// the body (a body can be read once).

/** A Request for fetch(input, init); throws as fetch would (bad URL, a GET with a body). */
export function prepareRequest(input, init) {
  return new Request(input, init);
}

/** A GET of `url` that is never answered from the HTTP cache. */
export function statusRequest(url) {
  return new Request(url, { method: "GET", cache: "no-store" });
}

/**
 * Sends a copy of `request` with the header `name: token`. Never rejects:
 * resolves to { status, response } or, when no response came,
 * { status: 0, error, aborted } (aborted: the app's AbortSignal fired).
 */
export async function sendWithToken(request, name, token) {
  try {
    const copy = request.clone();
    copy.headers.set(name, token);
    const response = await fetch(copy);
    return { status: response.status, response };
  } catch (error) {
    return { status: 0, error, aborted: error?.name === "AbortError" || !!request.signal?.aborted };
  }
}
