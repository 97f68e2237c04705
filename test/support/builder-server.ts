// An in-process builder server for unit tests: loopback, a generated certificate, a fake access port
// (resources and credentials from plain maps) and a fake TokenReview client (tokens from a map). Raw
// request helpers send what an ordinary client would not: chunked, truncated and aborted bodies.
import { connect, type TLSSocket } from 'node:tls';
import { request } from 'node:https';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import type { BuilderAccess, RegistryCredentials, ServiceAccountRef } from '../../src/builder/access.ts';
import { startBuilderServer, type BuilderServer, type BuilderServerOptions } from '../../src/builder/server.ts';
import { generateTls, type ServingTls } from '../../src/builder/tls.ts';
import type { RequestSpec } from '../../src/kube/rest.ts';

let tls: Promise<ServingTls> | undefined;

export function ips(name: string, builder: ImagePullSecret['spec']['builder'], created = '2025-01-01T00:00:00Z'): ImagePullSecret {
  return {
    apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name, creationTimestamp: created, uid: `uid-${name}` },
    spec: { registry: {}, target: { secret: { name: 'pull' } }, ...(builder ? { builder } : {}) },
  };
}

export interface FakeAccess extends BuilderAccess {
  resources: ImagePullSecret[];
  /** `resource name` → `registry key` → credentials. */
  creds: Map<string, Map<string, RegistryCredentials>>;
}

export function fakeAccess(resources: ImagePullSecret[] = [], creds: Record<string, Record<string, RegistryCredentials>> = {}): FakeAccess {
  const map = new Map(Object.entries(creds).map(([k, v]) => [k, new Map(Object.entries(v))]));
  return {
    resources, creds: map,
    resourcesFor: () => resources,
    credentials: (name, registry) => map.get(name)?.get(registry),
  };
}

/** A TokenReview client: tokens in `valid` authenticate as their ServiceAccount; `gate` can hold answers. */
export interface FakeReviews {
  rest: BuilderServerOptions['rest'];
  reviews: () => number;
  valid: Map<string, ServiceAccountRef>;
  /** While set, every review waits for it. */
  gate?: Promise<void>;
}

export function fakeReviews(valid: Record<string, ServiceAccountRef> = {}, audience = 'pullsecret-sync'): FakeReviews {
  let count = 0;
  const fake: FakeReviews = {
    valid: new Map(Object.entries(valid)),
    reviews: () => count,
    rest: {
      call: async <T>(spec: RequestSpec): Promise<T> => {
        count++;
        if (fake.gate) await fake.gate;
        const token = (spec.body as { spec: { token: string } }).spec.token;
        const sa = fake.valid.get(token);
        const status = sa ? { authenticated: true, user: { username: `system:serviceaccount:${sa.namespace}:${sa.name}` }, audiences: [audience] } : { authenticated: false };
        return { status } as T;
      },
    },
  };
  return fake;
}

export interface TestBuilderServer extends BuilderServer {
  logs: string[];
  results: [string, string][];
}

export async function startTestBuilderServer(opts: Partial<BuilderServerOptions> & Pick<BuilderServerOptions, 'access' | 'rest'>): Promise<TestBuilderServer> {
  tls ??= generateTls({ hosts: ['127.0.0.1', 'localhost'] });
  const logs: string[] = [];
  const results: [string, string][] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
  const server = await startBuilderServer({
    addr: '127.0.0.1:0', tls: await tls, audience: 'pullsecret-sync', rateLimit: { qps: 1000, burst: 1000 }, helperScript: '#!/bin/sh\n',
    logger: pino({ level: 'debug' }, sink), onRequest: (route, result) => { results.push([route, result]); }, ...opts,
  });
  return { ...server, logs, results };
}

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; json: Record<string, unknown>; text: string }

/** An ordinary HTTPS request; the body is JSON-encoded unless it is a string. */
export function call(server: BuilderServer, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, {
      method, rejectUnauthorized: false, agent: false, timeout: 10_000,
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), 'Content-Type': 'application/json', ...opts.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const json = res.headers['content-type'] === 'application/json' ? JSON.parse(text) as Record<string, unknown> : {};
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
      });
    });
    req.on('timeout', () => { req.destroy(new Error('builder call timed out')); });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
  });
}

/** A raw TLS connection to the server, for requests an HTTP client would not send. */
export function rawConnection(server: BuilderServer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => { resolve(socket); });
    socket.on('error', reject);
  });
}

/** Everything the server sends on `socket` until it closes (or `timeoutMs`), as text. */
export function readAll(socket: TLSSocket, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString()); });
  });
}
