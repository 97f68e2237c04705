// Debian's docker-registry (the CNCF distribution registry) with TLS from the testbed CA and bcrypt
// htpasswd users. Tests that need their own users (for example `AWS` with a token from moto) start their
// own instance with startRegistry.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackages } from './apt.ts';
import { freePort, startProcess, stopProcess, waitFor, type Started } from './processes.ts';

export interface RegistryUser {
  username: string;
  password: string;
}

export interface RegistryInfo {
  /** host:port, the form image references and dockerconfigjson keys use. */
  host: string;
  url: string;
  /** PEM file of the CA that signed the registry's certificate. */
  caFile: string;
  /** A directory holding the CA as `ca.crt`, for skopeo's --cert-dir. */
  certDir: string;
  users: RegistryUser[];
  pid: number;
}

function probe(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    request(`${url}/v2/`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 401 || res.statusCode === 200);
    }).on('error', () => { resolve(false); }).end();
  });
}

/** Distribution token auth instead of htpasswd: the registry trusts tokens signed under rootCertBundle. */
export interface RegistryTokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the certificate(s) whose keys sign the tokens. */
  rootCertBundle: string;
}

export interface RegistryOptions {
  dir: string;
  users: RegistryUser[];
  ca: string;
  cert: string;
  key: string;
  /** When given, the registry uses token auth from this realm (users then live in the realm). */
  token?: RegistryTokenAuth;
}

function authConfig(opts: RegistryOptions, htpasswd: string): string[] {
  if (!opts.token) return ['auth:', '  htpasswd:', '    realm: pullsecret-sync-testbed', `    path: ${htpasswd}`];
  const t = opts.token;
  return ['auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`];
}

export async function startRegistry(opts: RegistryOptions): Promise<RegistryInfo> {
  ensurePackages(['docker-registry', 'htpasswd']);
  mkdirSync(join(opts.dir, 'storage'), { recursive: true });
  const htpasswd = join(opts.dir, 'htpasswd');
  writeFileSync(htpasswd, '');
  for (const user of opts.users) {
    execFileSync('htpasswd', ['-B', '-b', '-C', '5', htpasswd, user.username, user.password], { stdio: 'ignore' });
  }
  const port = await freePort();
  const config = join(opts.dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1', 'log:', '  level: warn', '  accesslog:', '    disabled: true',
    'storage:', '  filesystem:', `    rootdirectory: ${join(opts.dir, 'storage')}`, '  delete:', '    enabled: true',
    'http:', `  addr: 127.0.0.1:${port}`, '  tls:', `    certificate: ${opts.cert}`, `    key: ${opts.key}`,
    ...authConfig(opts, htpasswd), '',
  ].join('\n'));
  const certDir = join(opts.dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, 'ca.crt'), readFileSync(opts.ca));
  const proc: Started = startProcess('docker-registry', 'docker-registry', ['serve', config], join(opts.dir, 'registry.log'));
  const url = `https://127.0.0.1:${port}`;
  const ca = readFileSync(opts.ca);
  await waitFor('docker-registry', () => probe(url, ca), 30_000, proc);
  return { host: `127.0.0.1:${port}`, url, caFile: opts.ca, certDir, users: opts.users, pid: proc.pid };
}

export async function stopRegistry(info: RegistryInfo): Promise<void> {
  await stopProcess(info.pid);
}
