// Bounded reading of registry answers. A registry (or anything answering in its place) decides how many
// bytes it sends; the builder front decides how many it reads. Bodies are read as bytes up to a cap and the
// stream is cancelled past it, so memory per request is bounded by the cap whatever the peer sends, and a
// body that is not wanted is cancelled rather than left to hold the connection.

/** The subset of a WHATWG fetch Response the builder front uses; `globalThis.fetch` answers fit. */
export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** The body as a byte stream; iterating it to the end or breaking out of the loop releases it. */
  body: AsyncIterable<Uint8Array> | null;
}

/** The subset of WHATWG fetch this client uses; `globalThis.fetch` fits, and tests inject their own. */
export type FetchLike = (url: string, init: {
  method: string;
  headers: Record<string, string>;
  body?: string;
  redirect?: 'manual';
  signal?: AbortSignal;
}) => Promise<FetchResponse>;

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
