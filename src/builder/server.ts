// The builder front's HTTPS server (docs/builder-security.md). Every authenticated call runs the same gate, in this order:
// a bearer token (401 when missing), TokenReview for the builder audience (401 when refused, 503 when the
// review cannot be made; reviews of uncached tokens are limited per remote address (429) and, over all
// callers, by the review gate (503, review-gate.ts); refused tokens are remembered by hash), the
// per-ServiceAccount token bucket and in-flight limit (429), and at least one ImagePullSecret allowing the
// ServiceAccount (403) — so a caller without access learns nothing about registries. Every 429 and 503
// carries Retry-After, and nothing waits in a queue: a request the limits refuse is answered at once. Then handlers.ts does the work.
// `GET /v1/ca.crt` and `GET /v1/credential-helper` need no token. Every answer, errors included, is JSON
// (http-io.ts). The serving certificate can be replaced while running (`setTls`) without dropping
// connections. Logs name the route, status and ServiceAccount, never tokens, credentials or bodies.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KubeRest } from '../kube/rest.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { parseAddress } from '../util/address.ts';
import { errorMessage } from '../util/errors.ts';
import { closeServer, listenOn } from '../util/server.ts';
import type { BuilderAccess, EcrRepositories, ServiceAccountRef } from './access.ts';
import { AuthenticationUnavailable, Authenticator } from './authn.ts';
import { ReviewGate, ReviewShed, type ReviewLimits } from './review-gate.ts';
import { resourcesAllowing } from './authz.ts';
import { credentials, HttpError, images, repositories, type Caller, type HandlerContext } from './handlers.ts';
import { readHelperScript } from './helper-script.ts';
import { answerClientError, bearer, MAX_HEADER_BYTES, MAX_URL, readJson, send, sendAndDrain } from './http-io.ts';
import { InFlightLimiter, KeyedRateLimiter, type RateLimit } from './rate-limit.ts';
import type { FetchLike } from './registry-client.ts';
import type { CredentialScoper } from './scoped-credentials.ts';
import type { ServingTls } from './tls.ts';
import type { OutboundPolicy } from '../util/outbound.ts';

export interface BuilderServerOptions {
  /** `host:port` or `:port` (all interfaces); port 0 picks a free one. */
  addr: string;
  tls: ServingTls;
  access: BuilderAccess;
  /** The daemon's API client, for TokenReview. */
  rest: Pick<KubeRest, 'call'>;
  audience: string;
  ecr?: EcrRepositories;
  scoper?: CredentialScoper;
  fetch?: FetchLike;
  /** Which token realms beyond a registry's own host the daemon may ask (registry-token.ts). */
  outbound?: OutboundPolicy;
  rateLimit: RateLimit;
  /** Requests one ServiceAccount may have in progress at once; default 4. */
  maxInFlight?: number;
  /** Upper bound of the TokenReview cache; default 3 s (see authn.ts). */
  authCacheTtlMs?: number;
  /** Global admission of TokenReviews and how long refused tokens are remembered; default DEFAULT_REVIEW_LIMITS. */
  reviewLimits?: ReviewLimits;
  logger: Logger;
  clock?: Clock;
  /** The helper script's text; default: the file shipped in scripts/. */
  helperScript?: string;
  registryTimeoutMs?: number;
  /** Called once per request with the route and result, for the builder requests metric. */
  onRequest?: (route: string, result: RequestResult) => void;
}

/**
 * How long a whole request (headers and body) may take to arrive before Node answers 408 (it checks every
 * 30 s, so a slow request ends 30–60 s in); Node's default is 5 minutes.
 */
const REQUEST_TIMEOUT_MS = 30_000;

export type RequestResult = 'ok' | 'bad_request' | 'unauthenticated' | 'forbidden' | 'not_found' | 'rate_limited' | 'error';

export interface BuilderServer {
  /** `https://host:port` of the bound address. */
  url: string;
  port: number;
  /** Serves `tls` to new connections from now on; open connections keep theirs. */
  setTls(tls: ServingTls): void;
  close(): Promise<void>;
}

type Route = 'ca' | 'helper' | 'credentials' | 'images' | 'repositories';
const ROUTES = new Map<string, { method: string; route: Route }>([
  ['/v1/ca.crt', { method: 'GET', route: 'ca' }],
  ['/v1/credential-helper', { method: 'GET', route: 'helper' }],
  ['/v1/credentials', { method: 'POST', route: 'credentials' }],
  ['/v1/images', { method: 'GET', route: 'images' }],
  ['/v1/repositories', { method: 'POST', route: 'repositories' }],
]);

const RESULTS = new Map<number, RequestResult>([[400, 'bad_request'], [401, 'unauthenticated'], [403, 'forbidden'], [404, 'not_found'],
  [405, 'bad_request'], [413, 'bad_request'], [414, 'bad_request'], [429, 'rate_limited']]);

export function resultOf(status: number): RequestResult {
  return status < 300 ? 'ok' : RESULTS.get(status) ?? 'error';
}

/**
 * The log level of one request line. Refusals any caller without a valid token can cause (401, 429, a shed
 * 503) are debug: a flood of them must not become a flood of log lines (the requests metric counts them).
 */
function levelOf(status: number, shed: boolean, authenticated: boolean): 'debug' | 'info' | 'warn' {
  if ((shed || status === 401) && !authenticated) return 'debug';
  return status >= 500 ? 'warn' : status >= 400 ? 'info' : 'debug';
}

export function parseAddr(addr: string): { host?: string; port: number } {
  const parsed = parseAddress(addr);
  if (!parsed) throw new Error(`invalid builder address "${addr}": want host:port or :port`);
  return parsed;
}

export async function startBuilderServer(opts: BuilderServerOptions): Promise<BuilderServer> {
  const clock = opts.clock ?? realClock;
  const authn = new Authenticator({ rest: opts.rest, audience: opts.audience, clock, gate: new ReviewGate(opts.reviewLimits, clock),
    ...(opts.authCacheTtlMs === undefined ? {} : { cacheTtlMs: opts.authCacheTtlMs }) });
  opts.access.onServiceAccountDeleted?.((sa) => { authn.revoke(sa); });
  const perSa = new KeyedRateLimiter(opts.rateLimit, clock);
  const inFlight = new InFlightLimiter(opts.maxInFlight ?? 4);
  // Unknown tokens cost a TokenReview each; bound them per remote address, more generously than calls.
  const perAddress = new KeyedRateLimiter({ qps: Math.max(1, opts.rateLimit.qps) * 5, burst: Math.max(1, opts.rateLimit.burst) * 5 }, clock);
  const helper = opts.helperScript ?? readHelperScript();
  if (helper === undefined) opts.logger.warn('credential helper script not found; GET /v1/credential-helper answers 404');
  let tls = opts.tls;
  const ctx: HandlerContext = {
    access: opts.access, ...(opts.ecr ? { ecr: opts.ecr } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.scoper ? { scoper: opts.scoper } : {}), ...(opts.registryTimeoutMs ? { registryTimeoutMs: opts.registryTimeoutMs } : {}),
    ...(opts.outbound ? { outbound: opts.outbound } : {}),
  };

  /** The authenticated, allowed caller, holding an in-flight slot the caller of this function releases. */
  async function caller(req: IncomingMessage): Promise<Caller & { release: () => void }> {
    const token = bearer(req);
    if (!authn.isCached(token) && !perAddress.tryTake(`addr:${req.socket.remoteAddress ?? ''}`)) throw new HttpError(429, 'too many requests', 1);
    let sa: ServiceAccountRef | undefined;
    try {
      sa = await authn.authenticate(token);
    } catch (err) {
      if (err instanceof ReviewShed) throw new HttpError(503, err.message, err.retryAfterS);
      if (err instanceof AuthenticationUnavailable) throw new HttpError(503, err.message);
      throw err;
    }
    if (!sa) throw new HttpError(401, 'the token is not a valid ServiceAccount token for this audience');
    const who = `${sa.namespace}/${sa.name}`;
    if (!perSa.tryTake(who)) throw new HttpError(429, `too many requests from ServiceAccount ${who}`, 1);
    const resources = resourcesAllowing(opts.access.resourcesFor(sa), sa);
    if (resources.length === 0) throw new HttpError(403, `no ImagePullSecret allows ServiceAccount ${who}`);
    const release = inFlight.tryAcquire(who);
    if (!release) throw new HttpError(429, `too many requests in progress from ServiceAccount ${who}`, 1);
    return { sa, resources, release };
  }

  async function dispatch(route: Route, req: IncomingMessage, url: URL, res: ServerResponse, log: { sa?: string }): Promise<void> {
    if (route === 'ca') {
      if (tls.ca === undefined) throw new HttpError(404, 'no CA certificate is configured');
      send(res, 200, tls.ca, 'application/x-pem-file');
      return;
    }
    if (route === 'helper') {
      if (helper === undefined) throw new HttpError(404, 'the credential helper is not available');
      send(res, 200, helper, 'text/x-shellscript');
      return;
    }
    const who = await caller(req);
    log.sa = `${who.sa.namespace}/${who.sa.name}`;
    try {
      if (route === 'credentials') send(res, 200, await credentials(ctx, who, await readJson(req)));
      else if (route === 'images') send(res, 200, await images(ctx, who, url.searchParams.get('ref')));
      else send(res, 200, await repositories(ctx, who, await readJson(req)));
    } finally {
      who.release();
    }
  }

  /** The route to run, or the HttpError (414, 404, 405) the request line earns. */
  function routeOf(req: IncomingMessage, res: ServerResponse, rawUrl: string, match: { method: string; route: Route } | undefined): Route {
    if (rawUrl.length > MAX_URL) throw new HttpError(414, `the request URL is longer than ${MAX_URL / 1024} KiB`);
    if (!match) throw new HttpError(404, 'not found');
    if (req.method !== match.method) {
      res.setHeader('Allow', match.method);
      throw new HttpError(405, `use ${match.method}`);
    }
    return match.route;
  }

  /** Answers a failed request (JSON with the HttpError's status, else 500), or ends it when the answer had begun. */
  function answerError(req: IncomingMessage, res: ServerResponse, err: unknown): { status: number; reason: string; shed: boolean } {
    const known = err instanceof HttpError ? err : undefined;
    if (!known) opts.logger.error({ err: errorMessage(err) }, 'builder request failed');
    const status = known?.status ?? 500;
    const reason = known?.message ?? 'internal error';
    if (res.headersSent) res.destroy();
    else {
      if (known?.retryAfterS !== undefined) res.setHeader('Retry-After', String(known.retryAfterS));
      sendAndDrain(req, res, status, reason);
    }
    return { status, reason, shed: known?.retryAfterS !== undefined };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = clock.nowMs();
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl.length > MAX_URL ? '/' : rawUrl, 'https://builder.invalid');
    const match = ROUTES.get(url.pathname);
    const log: { sa?: string } = {};
    let outcome: { status: number; reason?: string; shed?: boolean } = { status: 200 };
    try {
      await dispatch(routeOf(req, res, rawUrl, match), req, url, res, log);
    } catch (err) {
      outcome = answerError(req, res, err);
    }
    const { status, reason, shed = false } = outcome;
    const route = status === 414 ? 'unknown' : match?.route ?? 'unknown';
    opts.onRequest?.(route, shed ? 'rate_limited' : resultOf(status));
    const fields = { route, status, serviceAccount: log.sa, durationMs: clock.nowMs() - started, ...(reason ? { reason } : {}) };
    opts.logger[levelOf(status, shed, log.sa !== undefined)](fields, 'builder request');
  }

  /** Last resort for a handler that failed while failing: nothing it throws may reach the process. */
  function serve(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ error: err instanceof Error ? err.name : typeof err }, 'builder request failed while answering');
      opts.onRequest?.('unknown', 'error');
      res.destroy();
    });
  }

  const server: Server = createServer({ cert: tls.cert, key: tls.key, maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS }, serve);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => { answerClientError(err, socket); });
  const { host, port } = parseAddr(opts.addr);
  const address = await listenOn(server, port, host);
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  opts.logger.info({ addr: `${urlHost}:${address.port}` }, 'builder API listening');
  return {
    url: `https://${urlHost}:${address.port}`,
    port: address.port,
    setTls(next) {
      server.setSecureContext({ cert: next.cert, key: next.key });
      tls = next;
    },
    close: () => closeServer(server),
  };
}
