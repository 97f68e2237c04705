// A Distribution token realm (https://distribution.github.io/distribution/spec/auth/token/) on loopback,
// and Debian's docker-registry configured to trust it: the registry a real deployment puts behind Docker
// Hub's, GHCR's or Harbor's token service. The realm knows one user; an authenticated GET
// `/token?service=…&scope=repository:<name>:<actions>…` gets a JWT (ES256, signing certificate in `x5c`,
// trusted by the registry through its rootcertbundle) granting exactly the scopes asked for. Every grant
// is recorded so tests can see which scopes a client asked for.
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeServer, listenOn } from '../../src/util/server.ts';
import type { KeyPair } from '../testbed/pki.ts';
import { startRegistry, stopRegistry, type RegistryInfo, type RegistryUser } from '../testbed/registry.ts';

const run = promisify(execFile);
const SERVICE = 'pullsecret-sync-token-registry';
const ISSUER = 'pullsecret-sync-test-realm';

export interface Grant { user: string; scopes: string[] }

export interface TokenRegistry {
  registry: RegistryInfo;
  realmUrl: string;
  /** Scopes granted, in order. */
  grants: Grant[];
  close(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** The access claim of the requested scopes (`repository:a/b:pull,push`), as the registry reads it. */
function accessOf(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  return scopes.flatMap((scope) => {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first) return [];
    return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') }];
  });
}

function signJwt(claims: object, signingKey: string, certDer: Buffer): string {
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: createPrivateKey(signingKey), dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${b64url(signature)}`;
}

function authenticated(header: string | undefined, users: RegistryUser[]): string | undefined {
  const m = /^Basic (\S+)$/.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const user = users.find((u) => u.username === text.slice(0, colon) && u.password === text.slice(colon + 1));
  return user?.username;
}

async function startRealm(tls: KeyPair, users: RegistryUser[], signing: { key: string; certDer: Buffer }, grants: Grant[]): Promise<Server> {
  const server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://realm.invalid');
    const user = authenticated(req.headers.authorization, users);
    if (url.pathname !== '/token' || req.method !== 'GET' || url.searchParams.get('service') !== SERVICE || !user) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    grants.push({ user, scopes });
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt({ iss: ISSUER, sub: user, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(),
      access: accessOf(scopes) }, signing.key, signing.certDer);
    res.writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  });
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  await listenOn(server, 0, '127.0.0.1');
  return server;
}

/** A realm and a registry that trusts it, in `dir`; TLS of both from `tls` (a loopback serving pair). */
export async function startTokenRegistry(opts: { dir: string; ca: string; tls: KeyPair; users: RegistryUser[] }): Promise<TokenRegistry> {
  mkdirSync(opts.dir, { recursive: true });
  const signingKey = join(opts.dir, 'realm-signing.key');
  const signingCert = join(opts.dir, 'realm-signing.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=pullsecret-sync test realm', '-keyout', signingKey, '-out', signingCert]);
  const certDer = Buffer.from(new X509Certificate(readFileSync(signingCert)).raw);
  const grants: Grant[] = [];
  const realm = await startRealm(opts.tls, opts.users, { key: readFileSync(signingKey, 'utf8'), certDer }, grants);
  const realmUrl = `https://127.0.0.1:${(realm.address() as AddressInfo).port}/token`;
  let registry: RegistryInfo;
  try {
    registry = await startRegistry({ dir: join(opts.dir, 'registry'), users: opts.users, ca: opts.ca, cert: opts.tls.cert, key: opts.tls.key,
      token: { realm: realmUrl, service: SERVICE, issuer: ISSUER, rootCertBundle: signingCert } });
  } catch (err) {
    realm.close();
    throw err;
  }
  return {
    registry, realmUrl, grants,
    close: async () => {
      await stopRegistry(registry);
      await closeServer(realm);
    },
  };
}
