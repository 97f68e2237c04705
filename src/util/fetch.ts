// The one FetchLike: the part of WHATWG fetch the daemon's own HTTP clients use (the builder front's
// registry calls, the ACR token exchange), which globalThis.fetch satisfies and tests inject, with
// caFetch for a peer behind an extra CA. And bounded reading of answers: a peer decides how many bytes it
// sends; we decide how many we read. Bodies are read as bytes up to a cap and the
// stream is cancelled past it, so memory per request is bounded by the cap whatever the peer sends, and a
// body that is not wanted is cancelled rather than left to hold the connection.

import { request } from 'node:https';
import { rootCertificates } from 'node:tls';

/** The subset of a WHATWG fetch Response the clients use; `globalThis.fetch` answers fit. */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** The body as a byte stream; iterating it to the end or breaking out of the loop releases it. */
  body: AsyncIterable<Uint8Array> | null;
}

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** 'manual': a redirect is answered, never followed (caFetch never follows one). */
  redirect?: 'manual';
  signal?: AbortSignal;
}

/** The subset of WHATWG fetch the clients use; `globalThis.fetch` fits, and tests inject their own. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/**
 * A FetchLike over node:https that trusts the public roots plus `extraCa` (globalThis.fetch takes no
 * per-call CA). The body is the response stream itself, so a reader that stops early really stops.
 */
export function caFetch(extraCa: string | Buffer): FetchLike {
  const ca = [...rootCertificates, extraCa.toString()];
  return (url, init) => new Promise((resolve, reject) => {
    // agent: false, one connection per request, closed with its answer: an idle kept-alive socket would
    // hold the process open after its last request.
    const req = request(url, { method: init.method, headers: init.headers, ca, agent: false, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      res.on('error', () => undefined); // surfaced to the reader through iteration
      const get = (name: string): string | null => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      };
      resolve({ status: res.statusCode ?? 0, headers: { get }, body: res });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A body was larger than the reader's cap; `message` names the cap and is safe to return. */
export class BodyTooLarge extends Error {
  constructor(readonly what: string, readonly maxBytes: number) {
    super(`the ${what} is larger than ${formatBytes(maxBytes)}`);
    this.name = 'BodyTooLarge';
  }
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** Reads the whole body as bytes, at most `maxBytes`; throws BodyTooLarge (after cancelling) past that. */
export async function readCapped(res: FetchResponse, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(res);
    throw new BodyTooLarge(what, maxBytes);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    // Breaking out of the loop cancels the stream: no byte past the cap is buffered.
    if (size > maxBytes) throw new BodyTooLarge(what, maxBytes);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, size);
}

/** Releases a body that will not be read (a HEAD answer, an error answer), without reading it. */
export async function discard(res: FetchResponse): Promise<void> {
  if (!res.body) return;
  try {
    const it = res.body[Symbol.asyncIterator]();
    await it.return?.();
  } catch {
    // The peer may already have gone; nothing to release then.
  }
}
