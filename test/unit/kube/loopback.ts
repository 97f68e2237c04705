// In-process API-server stand-ins on loopback for transport tests: an HTTP/2 server over TLS (what KubeRest
// speaks to every real cluster) and a plain HTTP/1.1 one, each with a kubeconfig that points at it. They
// answer only what a test tells them to; Kubernetes semantics are tested against the testbed instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type SecureServerOptions, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../../src/kube/kubeconfig.ts';

export interface Pem {
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1 (openssl, a few ms); `cn` tells two of them apart. */
export function selfSigned(cn = 'loopback'): Pem {
  const dir = mkdtempSync(join(tmpdir(), 'loopback-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Handler<Req, Res> = (req: Req, res: Res) => void;

export interface Loopback {
  url: string;
  /** Every request path (with query) in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface H2Loopback extends Loopback {
  server: Http2SecureServer;
  /** Server-side sessions, newest last (closed ones included). */
  readonly sessions: ServerHttp2Session[];
}

/** An HTTP/2 TLS server on 127.0.0.1; `handler` answers (or does not answer) each request. */
export async function h2Server(pem: Pem, handler: Handler<Http2ServerRequest, Http2ServerResponse>, extra: SecureServerOptions = {}): Promise<H2Loopback> {
  const requests: string[] = [];
  const sessions: ServerHttp2Session[] = [];
  const server = createSecureServer({ ...extra, ...pem, allowHTTP1: false });
  server.on('session', (s) => { sessions.push(s); s.on('error', () => undefined); });
  server.on('request', (req, res) => {
    requests.push(req.url);
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    handler(req, res);
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`, server, requests, sessions,
    close: () => new Promise<void>((resolve) => {
      for (const s of sessions) if (!s.destroyed) s.destroy();
      server.close(() => { resolve(); });
    }),
  };
}

/** A plain HTTP/1.1 server on 127.0.0.1 (the transport of an http:// server, e.g. `kubectl proxy`). */
export async function http1Server(handler: Handler<IncomingMessage, ServerResponse>): Promise<Loopback> {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => { requests.push(req.url ?? ''); handler(req, res); });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}

/** A kubeconfig file for `url` with `user` (YAML of one user entry) and, for https, the CA; loaded as the daemon loads one. */
export async function kubeConfigFor(url: string, opts: { ca?: string; caFile?: string; user?: string; dir?: string } = {}): Promise<KubeConfig> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'loopback-kubeconfig-'));
  const ca = opts.caFile ? `certificate-authority: ${JSON.stringify(opts.caFile)}`
    : opts.ca ? `certificate-authority-data: ${Buffer.from(opts.ca).toString('base64')}`
      : url.startsWith('http:') ? 'insecure-skip-tls-verify: true' : ''; // client-node refuses http:// without it
  const file = join(dir, 'config');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: loop',
    `clusters: [{name: loop, cluster: {server: "${url}"${ca ? `, ${ca}` : ''}}}]`,
    `users: [{name: me, user: ${opts.user ?? '{token: test-token}'}}]`,
    'contexts: [{name: loop, context: {cluster: loop, user: me}}]', '',
  ].join('\n'));
  try {
    return await loadKubeConfig({ kubeconfig: file });
  } finally {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** `work`, or a rejection after `ms`: a bound for teardown and for promises a test expects to settle. */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`${what} did not settle within ${ms} ms`)); }, ms); });
  return Promise.race([work, bound]).finally(() => { clearTimeout(timer); });
}
