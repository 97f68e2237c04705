// A loopback proxy in front of moto's ECR: it counts GetAuthorizationToken calls (so a test can prove one
// fetch per identity), can be told to fail, and gives tokens a real lifetime (moto's arrive already
// expired), so refresh timing can be tested in seconds.
import { handle, listen, readBody, sendJson, type FakeServer } from './server.ts';

export interface EcrProxy extends FakeServer {
  /** Lifetime written into each token's expiresAt, in seconds. */
  lifetimeSeconds: number;
  /** GetAuthorizationToken calls that failed because `fail` was set. */
  readonly refused: number;
  /**
   * When each refused fetch began (ms): the first attempt of each SDK invocation only, so the SDK's own
   * quick retries inside one fetch do not blur the daemon's schedule.
   */
  readonly refusedAt: readonly number[];
}

const TARGET = 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken';

export async function startEcrProxy(moto: string, lifetimeSeconds = 12 * 3600): Promise<EcrProxy> {
  let requests = 0;
  let refused = 0;
  const refusedAt: number[] = [];
  const state = { fail: false, lifetimeSeconds };
  const server = await listen(handle(async (req, res) => {
    const body = await readBody(req);
    const isToken = req.headers['x-amz-target'] === TARGET;
    if (isToken && state.fail) {
      refused++;
      if (String(req.headers['amz-sdk-request'] ?? 'attempt=1').startsWith('attempt=1;') || !req.headers['amz-sdk-request']) refusedAt.push(Date.now());
      sendJson(res, 500, { __type: 'ServerException', message: 'injected failure' });
      return;
    }
    if (isToken) requests++;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
    const upstream = await fetch(`${moto}${req.url ?? '/'}`, { method: req.method, headers, body: body || undefined });
    let text = await upstream.text();
    if (isToken && upstream.ok) {
      const doc = JSON.parse(text) as { authorizationData?: { expiresAt?: number }[] };
      for (const d of doc.authorizationData ?? []) d.expiresAt = Date.now() / 1000 + state.lifetimeSeconds;
      text = JSON.stringify(doc);
    }
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'application/json' }).end(text);
  }));
  return {
    url: server.url, host: server.host, close: server.close,
    get requests() { return requests; },
    get refused() { return refused; },
    get refusedAt() { return refusedAt; },
    get fail() { return state.fail; },
    set fail(v: boolean) { state.fail = v; },
    get lifetimeSeconds() { return state.lifetimeSeconds; },
    set lifetimeSeconds(v: number) { state.lifetimeSeconds = v; },
  };
}
