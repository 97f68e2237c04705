// A small REST client for the Kubernetes API. client-node supplies the configuration and authentication
// (KubeConfig); this client adds what its generated API classes lack for a controller: metadata-only
// (PartialObjectMetadata) reads, watch streams with server-side timeouts and an abort signal, HTTP/2
// multiplexing (transport.ts), a deadline on every call, client-side QPS limiting, a write gate, and one
// place to count and log writes.
import type { SecureClientSessionOptions } from 'node:http2';
import type { RequestOptions } from 'node:https';
import type { Readable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { realClock, type Clock } from '../util/clock.ts';
import { deadline, whenAborted, type Deadline } from '../util/deadline.ts';
import { TokenBucket } from './token-bucket.ts';
import { Http1Transport, Http2Transport, type Exchange, type Transport } from './transport.ts';

export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/** A non-2xx answer from the API server, with the Status reason; never carries request bodies. */
export class KubeApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.code === code;
}

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** Deadline of this call (headers and body) or of a watch's response headers; default RestOptions.timeoutMs. */
  timeoutMs?: number;
  /** Cancels the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RestOptions {
  qps?: number;
  burst?: number;
  /** Called once per completed write, for metrics: verb and resource (e.g. `secrets`). */
  onWrite?: (verb: Verb, resource: string, code: number) => void;
  /**
   * The write gate, asked right before a write is sent (after every wait): false refuses it with
   * WriteRefusedError and nothing leaves the process. Leader election keeps non-leaders from writing here.
   */
  mayWrite?: (verb: Verb, resource: string) => boolean;
  /** Default deadline of every call, its wait in the rate limiter included, in ms (30 s). */
  timeoutMs?: number;
  /** HTTP/2 PING interval and the answer timeout after which the connection counts as half-open. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** Writes are logged at debug; replaced connections at info. Never given bodies or headers. */
  log?: (level: 'debug' | 'info', msg: string, fields: Record<string, unknown>) => void;
  /** Times the deadlines and the rate limiter; default realClock. */
  clock?: Clock;
}

/** A call that got no complete answer within its deadline. */
export class KubeTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeTimeoutError';
  }
}

/** A write the write gate refused: this replica may not write (it is not, or no longer, the leader). */
export class WriteRefusedError extends Error {
  constructor(verb: Verb, resource: string) {
    super(`refused to ${verb} ${resource}: this replica is not the leader`);
    this.name = 'WriteRefusedError';
  }
}

const writeVerbs: Record<string, Verb> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The object a path names: /api/v1/namespaces/ns/secrets/name -> secrets, ns, name. */
function targetOf(path: string): { resource: string; namespace?: string; name?: string } {
  const parts = path.split('/').filter(Boolean);
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  if (rest[0] === 'namespaces' && rest.length > 2) return { resource: rest[2] ?? 'namespaces', namespace: rest[1], name: rest[3] };
  return { resource: rest[0] ?? 'unknown', name: rest[1] };
}

export class KubeRest {
  private readonly server: URL;
  private readonly transport: Transport;
  private readonly limiter: TokenBucket;
  private readonly timeoutMs: number;
  private tls: SecureClientSessionOptions = {};

  constructor(private readonly kc: KubeConfig, private readonly opts: RestOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100, opts.clock ?? realClock);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.transport = this.server.protocol === 'https:'
      ? new Http2Transport(this.server, {
        tls: () => this.tls, pingIntervalMs: opts.pingIntervalMs ?? 15_000, pingTimeoutMs: opts.pingTimeoutMs ?? 10_000,
        onSessionEnd: (reason) => { opts.log?.('info', 'API server connection replaced', { reason }); },
      })
      : new Http1Transport();
  }

  /**
   * The auth headers, and the TLS material the next new connection uses; both re-read from the kubeconfig
   * per request (client-node reads certificate and CA files anew and renews exec credentials when they
   * expire), so a rotated token, CA or exec client certificate is picked up without a restart.
   */
  private async headers(): Promise<Record<string, string>> {
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    this.tls = {
      ca: opts.ca, cert: opts.cert, key: opts.key,
      ...(opts.servername ? { servername: opts.servername } : {}),
      ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
    };
    const headers = { ...(opts.headers as Record<string, string> | undefined) };
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return headers;
  }

  private url(path: string, query: RequestSpec['query']): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends the request under `signal`; resolves with the response headers and body stream. */
  private async open(spec: RequestSpec, signal: AbortSignal): Promise<Exchange> {
    const body = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
    // An exec credential plugin may take its time: the deadline and the caller's signal cover it too.
    const headers: Record<string, string> = { ...(await untilAborted(this.headers(), signal)), Accept: spec.accept ?? 'application/json' };
    if (body) {
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const verb = writeVerbs[spec.method];
    // The last moment before bytes leave: a replica that lost leadership while waiting sends nothing.
    if (verb && this.opts.mayWrite && !this.opts.mayWrite(verb, targetOf(spec.path).resource)) {
      throw new WriteRefusedError(verb, targetOf(spec.path).resource);
    }
    return this.transport.send({ method: spec.method, url: this.url(spec.path, spec.query), headers, ...(body ? { body } : {}) }, signal);
  }

  /** A signal that aborts after `ms` (with KubeTimeoutError) or with the caller's signal; `clear` stops the timer. */
  private deadline(spec: RequestSpec, ms: number): Deadline {
    return deadline({
      clock: this.opts.clock ?? realClock, ms, signal: spec.signal,
      timeoutError: () => new KubeTimeoutError(`${spec.method} ${targetOf(spec.path).resource}: no answer within ${ms} ms`),
    });
  }

  /**
   * One request and its decoded JSON answer within the deadline; non-2xx answers throw KubeApiError. The
   * deadline and `spec.signal` cover the whole call: the wait for a rate-limit token, the credentials, the
   * headers and the body. A call cancelled while it waits for a token leaves at once and takes no token.
   */
  async call<T>(spec: RequestSpec): Promise<T> {
    // The deadline starts before the rate limiter's wait: a call that queued past it is never sent.
    const { signal, clear } = this.deadline(spec, spec.timeoutMs ?? this.timeoutMs);
    try {
      await this.limiter.take(signal);
      signal.throwIfAborted(); // cancelled (or past its deadline): nothing is sent
      const res = await this.open(spec, signal);
      const text = (await readAll(res.body, signal)).toString('utf8');
      const verb = writeVerbs[spec.method];
      if (verb) this.wrote(verb, spec.path, res.status);
      if (res.status < 200 || res.status >= 300) throw apiError(res.status, text);
      return (text ? parseAnswer(text, spec.path) : {}) as T;
    } finally {
      clear();
    }
  }

  private wrote(verb: Verb, path: string, code: number): void {
    const target = targetOf(path);
    this.opts.onWrite?.(verb, target.resource, code);
    this.opts.log?.('debug', 'API write', { verb, ...target, code });
  }

  /**
   * A watch stream: calls `onEvent` for every event line until the server ends the watch (timeoutSeconds),
   * the signal aborts (resolves), or the connection fails (rejects). The response headers must arrive
   * within the call deadline; afterwards the server's timeoutSeconds, the caller's watchdog and the
   * connection PING bound the stream. A non-200 answer rejects with KubeApiError; so does a throwing
   * `onEvent`, with its error, after closing the stream.
   */
  async watch(spec: Omit<RequestSpec, 'method'>, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    const full: RequestSpec = { ...spec, method: 'GET', query: { ...spec.query, watch: true }, signal };
    const stream = new AbortController();
    const { signal: headerSignal, clear } = this.deadline(full, spec.timeoutMs ?? this.timeoutMs);
    const relay = () => { stream.abort(headerSignal.reason); };
    headerSignal.addEventListener('abort', relay, { once: true });
    try {
      const res = await this.open(full, stream.signal);
      clear();
      headerSignal.removeEventListener('abort', relay);
      // From here on only the caller's signal cancels the stream.
      if (signal.aborted) stream.abort(signal.reason);
      else signal.addEventListener('abort', () => { stream.abort(signal.reason); }, { once: true, signal: stream.signal });
      if (res.status !== 200) throw apiError(res.status, (await readAll(res.body, stream.signal)).toString('utf8'));
      await readLines(res.body, (line) => { onEvent(parseAnswer(line, spec.path) as { type: string; object: unknown }); });
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      clear();
      stream.abort();
    }
  }

  close(): void {
    this.transport.close();
  }
}

/** `work`, or a rejection with the signal's reason as soon as `signal` aborts (the work itself runs on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => { reject(signal.reason as Error); };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort); });
  });
}

/** The whole body; rejects on a stream error or when `signal` aborts (with its reason). */
function readAll(body: Readable, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const detach = whenAborted(signal, () => { body.destroy(); reject(signal.reason as Error); });
    if (signal.aborted) return;
    body.on('data', (chunk: Buffer) => { chunks.push(chunk); });
    body.on('error', (err) => { detach(); reject(err); });
    body.on('end', () => { detach(); resolve(Buffer.concat(chunks)); });
  });
}

/**
 * Calls `onLine` for every non-empty newline-terminated line; resolves at the end of the body, rejects on
 * a stream error or when `onLine` throws (destroying the body). Only each new chunk is searched for the
 * end of a line, and a line's chunks are joined once: an event of a megabyte (a large Secret) arrives in
 * dozens of chunks, and re-reading the whole partial line on each would copy it dozens of times.
 */
function readLines(body: Readable, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let parts: string[] = [];
    let failed = false;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      if (failed) return;
      let start = 0;
      let nl = chunk.indexOf('\n');
      try {
        while (nl >= 0) {
          parts.push(chunk.slice(start, nl));
          const line = parts.join('').trim();
          parts = [];
          if (line) onLine(line);
          start = nl + 1;
          nl = chunk.indexOf('\n', start);
        }
        if (start < chunk.length) parts.push(chunk.slice(start));
      } catch (err) {
        failed = true;
        body.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    body.on('error', (err) => { if (!failed) reject(err); });
    body.on('end', () => { if (!failed) resolve(); });
    body.on('close', () => { if (!failed) resolve(); });
  });
}

/**
 * The API server's answer (or one watch line) as JSON. JSON.parse's own error quotes the text it could
 * not read, which may be Secret data, so a malformed answer is reported by size and path alone.
 */
function parseAnswer(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the answer to ${path} is not JSON (${String(Buffer.byteLength(text))} bytes)`);
  }
}

function apiError(code: number, text: string): KubeApiError {
  let reason = 'Unknown';
  let message = `HTTP ${code}`;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? reason;
    message = status.message ?? message;
  } catch {
    /* not a Status: keep the HTTP code only, never the raw body */
  }
  return new KubeApiError(code, reason, message);
}
