// A FetchLike over node:https that trusts a given CA (the testbed's registry CA, a builder server's CA):
// globalThis.fetch takes no per-call CA. The body is the response stream itself, so readers that stop
// early (the builder's size cap) really stop reading.
import { request } from 'node:https';
import type { FetchLike, FetchResponse } from '../../src/builder/http-body.ts';

export function caFetch(ca: string | Buffer): FetchLike {
  return (url, init) => new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, ca, timeout: 30_000, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      res.on('error', () => undefined); // surfaced to the reader through iteration
      const get = (n: string): string | null => {
        const v = res.headers[n.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      };
      resolve({ status: res.statusCode ?? 0, headers: { get }, body: res });
    });
    req.on('timeout', () => { req.destroy(new Error('request timed out')); });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The whole body as text (test answers are small). */
export async function textOf(res: FetchResponse): Promise<string> {
  const chunks: Buffer[] = [];
  if (res.body) for await (const c of res.body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}
