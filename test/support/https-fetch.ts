// The daemon's caFetch (src/util/fetch.ts) for tests, with a 30 s deadline on calls that bring no signal
// of their own, so a test against a silent peer fails instead of hanging.
import { caFetch as daemonCaFetch, type FetchLike, type FetchResponse } from '../../src/util/fetch.ts';

export function caFetch(ca: string | Buffer): FetchLike {
  const fetch = daemonCaFetch(ca);
  return (url, init) => fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
}

/** The whole body as text (test answers are small). */
export async function textOf(res: FetchResponse): Promise<string> {
  const chunks: Buffer[] = [];
  if (res.body) for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}
