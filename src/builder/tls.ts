// TLS material of the builder front: a certificate and key from files (the chart's Secret, made by Helm,
// cert-manager or the user; the production choice, since every replica then serves the same chain), or,
// when none is configured, a CA and a serving certificate generated in memory at start. The CA's PEM is
// what builders trust; the server publishes it at `GET /v1/ca.crt`. A generated CA is per process, so it
// suits one replica only (docs/adr/). Mounted files are watched and served anew when they change (a
// Secret update swaps them), with no restart and no connection dropped.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { realClock, type Clock } from '../util/clock.ts';
import { issueCertificate } from './x509.ts';

export interface ServingTls {
  /** PEM certificate chain served to clients. */
  cert: string;
  /** PEM private key of the serving certificate. Never logged. */
  key: string;
  /** PEM of the CA clients should trust, when known. */
  ca?: string;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads PEM files; the error names the file, never its content. */
export function loadTls(files: TlsFiles): ServingTls {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      throw new Error(`cannot read TLS file ${path}`);
    }
  };
  const ca = files.caFile === undefined ? undefined : read(files.caFile);
  return { cert: read(files.certFile), key: read(files.keyFile), ...(ca === undefined ? {} : { ca }) };
}

/** Reads the files and checks that the certificate and key serve together; errors name files, never content. */
export function loadUsableTls(files: TlsFiles): ServingTls {
  const tls = loadTls(files);
  try {
    createSecureContext({ cert: tls.cert, key: tls.key }); // throws on malformed PEM or a key that does not match
  } catch {
    throw new Error('the TLS certificate and key files do not form a valid pair');
  }
  return tls;
}

/**
 * The names a generated serving certificate covers: loopback, plus the Service's in-cluster DNS names
 * when the Service name and namespace are known.
 */
export function servingHosts(service?: { name: string; namespace: string }): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1'];
  if (service) {
    const { name, namespace } = service;
    hosts.push(name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`);
  }
  return hosts;
}

export interface GenerateOptions {
  hosts: string[];
  /** Validity of both certificates; default 365 days. */
  validityDays?: number;
  clock?: Clock;
}

/** A fresh CA and a serving certificate it signed for `hosts`. */
export async function generateTls(opts: GenerateOptions): Promise<ServingTls> {
  const now = (opts.clock ?? realClock).nowMs();
  const notBefore = new Date(now - 5 * 60 * 1000); // tolerate clients whose clocks lag a little
  const notAfter = new Date(now + (opts.validityDays ?? 365) * DAY_MS);
  const ca = await issueCertificate({ commonName: 'pullsecret-sync builder CA', notBefore, notAfter, isCA: true });
  const serving = await issueCertificate({
    commonName: 'pullsecret-sync builder', notBefore, notAfter, isCA: false, hosts: opts.hosts,
    issuer: { certPem: ca.certPem, keys: ca.keys },
  });
  return { cert: serving.certPem + ca.certPem, key: serving.keyPem, ca: ca.certPem };
}

/** Files when both are given, else generated material for `hosts`. */
export async function resolveTls(files: Partial<TlsFiles>, hosts: string[]): Promise<ServingTls> {
  if (files.certFile && files.keyFile) return loadUsableTls({ certFile: files.certFile, keyFile: files.keyFile, ...(files.caFile ? { caFile: files.caFile } : {}) });
  if (files.certFile || files.keyFile) throw new Error('builder TLS needs both a certificate file and a key file');
  return generateTls({ hosts });
}

export interface TlsWatch {
  /** Called with the new material once the files have changed and form a valid certificate/key pair. */
  onChange: (tls: ServingTls) => void;
  /** Called when changed files cannot be used (unreadable, or a key that does not match); the old stay. */
  onError: (message: string) => void;
  /** How often the files are checked; default 10 s. */
  intervalMs?: number;
}

/** Watches the files (by polling their stat, which follows a Secret volume's symlink swap); returns stop. */
export function watchTls(files: TlsFiles, initial: ServingTls, watch: TlsWatch): () => void {
  let current = initial;
  const paths = [files.certFile, files.keyFile, ...(files.caFile ? [files.caFile] : [])];
  const check = (): void => {
    let next: ServingTls;
    try {
      next = loadUsableTls(files);
    } catch (err) {
      watch.onError(err instanceof Error ? err.message : String(err));
      return;
    }
    if (next.cert === current.cert && next.key === current.key && next.ca === current.ca) return;
    current = next;
    watch.onChange(next);
  };
  const options = { persistent: false, interval: watch.intervalMs ?? 10_000 };
  for (const path of paths) watchFile(path, options, check);
  return () => { for (const path of paths) unwatchFile(path, check); };
}
