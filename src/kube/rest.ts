// A small REST client for the Kubernetes API over node:https. client-node supplies the configuration and
// authentication (KubeConfig); this client adds what its generated API classes lack for a controller:
// metadata-only (PartialObjectMetadata) reads, watch streams with server-side timeouts and an abort
// signal, one keep-alive connection pool, client-side QPS limiting, and one place to count writes.
import { Agent, request, type RequestOptions } from 'node:https';
import { request as plainRequest, Agent as PlainAgent } from 'node:http';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { TokenBucket } from './token-bucket.ts';

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
}

export interface RestOptions {
  qps?: number;
  burst?: number;
  /** Called once per completed write, for metrics: verb and resource (e.g. `secrets`). */
  onWrite?: (verb: Verb, resource: string, code: number) => void;
}

const writeVerbs: Record<string, Verb> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function resourceOf(path: string): string {
  // /api/v1/namespaces/ns/secrets/name -> secrets; /apis/g/v/imagepullsecrets/name/status -> imagepullsecrets
  const parts = path.split('/').filter(Boolean);
  const start = parts[0] === 'api' ? 2 : 3;
  const rest = parts.slice(start);
  if (rest[0] === 'namespaces' && rest.length > 2) return rest[2] ?? 'namespaces';
  return rest[0] ?? 'unknown';
}

export class KubeRest {
  private readonly server: URL;
  private agent: Agent | PlainAgent | undefined;
  private readonly limiter: TokenBucket;

  constructor(private readonly kc: KubeConfig, private readonly opts: RestOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
  }

  /** TLS material and the Authorization header, re-read per request so rotated tokens are picked up. */
  private async options(): Promise<RequestOptions> {
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    if (!this.agent) {
      this.agent = this.server.protocol === 'https:'
        ? new Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key,
          ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }) })
        : new PlainAgent({ keepAlive: true, maxSockets: 32 });
    }
    return { headers: { ...(opts.headers as Record<string, string> | undefined) }, agent: this.agent, ...(opts.auth ? { auth: opts.auth } : {}) };
  }

  private url(path: string, query: RequestSpec['query']): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async open(spec: RequestSpec, signal?: AbortSignal): Promise<import('node:http').IncomingMessage> {
    const base = await this.options();
    const body = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
    const headers: Record<string, string> = { ...(base.headers as Record<string, string>), Accept: spec.accept ?? 'application/json' };
    if (body) {
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const send = this.server.protocol === 'https:' ? request : plainRequest;
    return new Promise((resolve, reject) => {
      const req = send(this.url(spec.path, spec.query), { ...base, method: spec.method, headers, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request and its decoded JSON answer; non-2xx answers throw KubeApiError. */
  async call<T>(spec: RequestSpec): Promise<T> {
    await this.limiter.take();
    const res = await this.open(spec);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const code = res.statusCode ?? 0;
    const verb = writeVerbs[spec.method];
    if (verb) this.opts.onWrite?.(verb, resourceOf(spec.path), code);
    if (code < 200 || code >= 300) throw apiError(code, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * A watch stream: calls `onEvent` for every event line until the server ends the watch (timeoutSeconds),
   * the signal aborts, or the connection fails (rejects). A non-200 answer rejects with KubeApiError.
   */
  async watch(spec: Omit<RequestSpec, 'method'>, onEvent: (event: { type: string; object: unknown }) => void, signal: AbortSignal): Promise<void> {
    const res = await this.open({ ...spec, method: 'GET', query: { ...spec.query, watch: true } }, signal);
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw apiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      onEvent(JSON.parse(line) as { type: string; object: unknown });
    }
  }

  close(): void {
    this.agent?.destroy();
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
