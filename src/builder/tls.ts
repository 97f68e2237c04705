// TLS material of the builder front: a certificate and key from files (cert-manager or any mounted
// Secret; the production choice, since every replica then serves the same chain), or, when none is
// configured, a CA and a serving certificate generated in memory at start. The CA's PEM is what builders
// trust; the server publishes it at `GET /v1/ca.crt`. A generated CA is per process: with several
// replicas behind one Service, builders should use a mounted certificate instead.
import { readFileSync } from 'node:fs';
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
export function generateTls(opts: GenerateOptions): ServingTls {
  const now = (opts.clock ?? realClock).nowMs();
  const notBefore = new Date(now - 5 * 60 * 1000); // tolerate clients whose clocks lag a little
  const notAfter = new Date(now + (opts.validityDays ?? 365) * DAY_MS);
  const ca = issueCertificate({ commonName: 'pullsecret-sync builder CA', notBefore, notAfter, isCA: true });
  const serving = issueCertificate({
    commonName: 'pullsecret-sync builder', notBefore, notAfter, isCA: false, hosts: opts.hosts,
    issuer: { commonName: 'pullsecret-sync builder CA', key: ca.key, keyId: ca.keyId },
  });
  return { cert: serving.certPem + ca.certPem, key: serving.keyPem, ca: ca.certPem };
}

/** Files when both are given, else generated material for `hosts`. */
export function resolveTls(files: Partial<TlsFiles>, hosts: string[]): ServingTls {
  if (files.certFile && files.keyFile) return loadTls({ certFile: files.certFile, keyFile: files.keyFile, ...(files.caFile ? { caFile: files.caFile } : {}) });
  if (files.certFile || files.keyFile) throw new Error('builder TLS needs both a certificate file and a key file');
  return generateTls({ hosts });
}
