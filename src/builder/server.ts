// The builder front's HTTPS server (SPEC 5). Every authenticated call runs the same gate, in this order:
// a bearer token (401 when missing), TokenReview for the builder audience (401 when refused, 503 when the
// review cannot be made; reviews of uncached tokens are limited per remote address), the per-ServiceAccount
// token bucket (429), and at least one ImagePullSecret allowing the ServiceAccount (403) — so a caller
// without access learns nothing about registries. Then handlers.ts does the work. `GET /v1/ca.crt` and
// `GET /v1/credential-helper` need no token. Logs name the route, status and ServiceAccount, never tokens,
// credentials or bodies.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { KubeRest } from '../kube/rest.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { parseAddress } from '../util/address.ts';
import { errorMessage } from '../util/errors.ts';
import type { BuilderAccess, EcrRepositories, ServiceAccountRef } from './access.ts';
import { AuthenticationUnavailable, Authenticator } from './authn.ts';
import { resourcesAllowing } from './authz.ts';
import { credentials, HttpError, images, repositories, type Caller, type HandlerContext } from './handlers.ts';
import { readHelperScript } from './helper-script.ts';
import { KeyedRateLimiter, type RateLimit } from './rate-limit.ts';
import type { FetchLike } from './registry-client.ts';
import type { ServingTls } from './tls.ts';

export interface BuilderServerOptions {
  /** `host:port` or `:port` (all interfaces); port 0 picks a free one. */
  addr: string;
  tls: ServingTls;
  access: BuilderAccess;
  /** The daemon's API client, for TokenReview. */
  rest: Pick<KubeRest, 'call'>;
  audience: string;
  ecr?: EcrRepositories;
  fetch?: FetchLike;
  rateLimit: RateLimit;
  logger: Logger;
  clock?: Clock;
  /** The helper script's text; default: the file shipped in scripts/. */
  helperScript?: string;
  registryTimeoutMs?: number;
  /** Called once per request with the route and result, for the builder requests metric. */
  onRequest?: (route: string, result: RequestResult) => void;
}

export type RequestResult = 'ok' | 'bad_request' | 'unauthenticated' | 'forbidden' | 'not_found' | 'rate_limited' | 'error';

export interface BuilderServer {
  /** `https://host:port` of the bound address. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_TOKEN = 16 * 1024;
type Route = 'ca' | 'helper' | 'credentials' | 'images' | 'repositories';
const ROUTES: Record<string, { method: string; route: Route }> = {
  '/v1/ca.crt': { method: 'GET', route: 'ca' },
  '/v1/credential-helper': { method: 'GET', route: 'helper' },
  '/v1/credentials': { method: 'POST', route: 'credentials' },
  '/v1/images': { method: 'GET', route: 'images' },
  '/v1/repositories': { method: 'POST', route: 'repositories' },
};

export function resultOf(status: number): RequestResult {
  const results: Record<number, RequestResult> = { 400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'bad_request', 413: 'bad_request', 429: 'rate_limited' };
  return status < 300 ? 'ok' : results[status] ?? 'error';
}

export function parseAddr(addr: string): { host?: string; port: number } {
  const parsed = parseAddress(addr);
  if (!parsed) throw new Error(`invalid builder address "${addr}": want host:port or :port`);
  return parsed;
}

function bearer(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const token = m?.[1];
  if (!token || token.length > MAX_TOKEN) throw new HttpError(401, 'a ServiceAccount token is required (Authorization: Bearer)');
  return token;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startBuilderServer(opts: BuilderServerOptions): Promise<BuilderServer> {
  const clock = opts.clock ?? realClock;
  const authn = new Authenticator({ rest: opts.rest, audience: opts.audience, clock });
  const perSa = new KeyedRateLimiter(opts.rateLimit, clock);
  // Unknown tokens cost a TokenReview each; bound them per remote address, more generously than calls.
  const perAddress = new KeyedRateLimiter({ qps: Math.max(1, opts.rateLimit.qps) * 5, burst: Math.max(1, opts.rateLimit.burst) * 5 }, clock);
  const helper = opts.helperScript ?? readHelperScript();
  if (helper === undefined) opts.logger.warn('credential helper script not found; GET /v1/credential-helper answers 404');
  const ctx: HandlerContext = {
    access: opts.access, ...(opts.ecr ? { ecr: opts.ecr } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.registryTimeoutMs ? { registryTimeoutMs: opts.registryTimeoutMs } : {}),
  };

  async function caller(req: IncomingMessage): Promise<Caller> {
    const token = bearer(req);
    if (!authn.isCached(token) && !perAddress.tryTake(`addr:${req.socket.remoteAddress ?? ''}`)) throw new HttpError(429, 'too many requests');
    let sa: ServiceAccountRef | undefined;
    try {
      sa = await authn.authenticate(token);
    } catch (err) {
      if (err instanceof AuthenticationUnavailable) throw new HttpError(503, err.message);
      throw err;
    }
    if (!sa) throw new HttpError(401, 'the token is not a valid ServiceAccount token for this audience');
    if (!perSa.tryTake(`${sa.namespace}/${sa.name}`)) throw new HttpError(429, `too many requests from ServiceAccount ${sa.namespace}/${sa.name}`);
    const resources = resourcesAllowing(opts.access.resourcesFor(sa), sa);
    if (resources.length === 0) throw new HttpError(403, `no ImagePullSecret allows ServiceAccount ${sa.namespace}/${sa.name}`);
    return { sa, resources };
  }

  async function dispatch(route: Route, req: IncomingMessage, url: URL, res: ServerResponse, log: { sa?: string }): Promise<void> {
    if (route === 'ca') {
      if (opts.tls.ca === undefined) throw new HttpError(404, 'no CA certificate is configured');
      send(res, 200, opts.tls.ca, 'application/x-pem-file');
      return;
    }
    if (route === 'helper') {
      if (helper === undefined) throw new HttpError(404, 'the credential helper is not available');
      send(res, 200, helper, 'text/x-shellscript');
      return;
    }
    const who = await caller(req);
    log.sa = `${who.sa.namespace}/${who.sa.name}`;
    if (route === 'credentials') send(res, 200, credentials(ctx, who, await readJson(req)));
    else if (route === 'images') send(res, 200, await images(ctx, who, url.searchParams.get('ref')));
    else send(res, 200, await repositories(ctx, who, await readJson(req)));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = clock.nowMs();
    const url = new URL(req.url ?? '/', 'https://builder.invalid');
    const match = ROUTES[url.pathname];
    const log: { sa?: string } = {};
    let status = 200;
    let reason: string | undefined;
    try {
      if (!match) throw new HttpError(404, 'not found');
      if (req.method !== match.method) {
        res.setHeader('Allow', match.method);
        throw new HttpError(405, `use ${match.method}`);
      }
      await dispatch(match.route, req, url, res, log);
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      reason = err instanceof HttpError ? err.message : 'internal error';
      if (!(err instanceof HttpError)) opts.logger.error({ err: errorMessage(err) }, 'builder request failed');
      if (!res.headersSent) send(res, status, { message: reason });
      else res.destroy();
    }
    const route = match?.route ?? 'unknown';
    opts.onRequest?.(route, resultOf(status));
    const fields = { route, status, serviceAccount: log.sa, durationMs: clock.nowMs() - started, ...(reason ? { reason } : {}) };
    if (status >= 500) opts.logger.warn(fields, 'builder request');
    else if (status >= 400) opts.logger.info(fields, 'builder request');
    else opts.logger.debug(fields, 'builder request');
  }

  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => { void handle(req, res); });
  const { host, port } = parseAddr(opts.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  opts.logger.info({ addr: `${urlHost}:${address.port}` }, 'builder API listening');
  return {
    url: `https://${urlHost}:${address.port}`,
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => { resolve(); });
      server.closeAllConnections();
    }),
  };
}
