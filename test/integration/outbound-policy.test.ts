// The daemon's outbound policy on the testbed (docs/security.md): a GCP source Secret whose author
// names a loopback URL with headers of their choosing (credential_source.url), a file of the daemon's
// container (credential_source.file) or a loopback token endpoint on another port (token_uri) makes the
// daemon send no request there and read no file; the resource says which field was refused, never its
// value. The daemon runs with --outbound-hosts naming one loopback port (the local STS) and
// --outbound-files one directory, and a Secret that stays inside them still gets its token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, eventsFor, readyCondition, rest, uniqueName, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { startGcpFederation, type FakeGcpFederation } from '../support/fake-clouds/gcp-federation.ts';
import { startGcpTokenServer, type FakeGcpToken } from '../support/fake-clouds/gcp-token.ts';
import { createServiceAccount, kubernetesIssuer, projectedToken } from '../support/fake-clouds/kubernetes-oidc.ts';

const POOL = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/testbed/providers/kubernetes';
const sourceNs = uniqueName('outbound-src');
const targetNs = uniqueName('outbound-dst');
const resources: string[] = [];

/** A loopback server the daemon must never reach (a sidecar's admin port, say): counts what arrives. */
interface Trap { url: string; requests: { method?: string; url?: string; headers: IncomingMessage['headers'] }[]; close(): Promise<void> }

async function startTrap(): Promise<Trap> {
  const requests: Trap['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access_token":"trap","expires_in":3600}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`, requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}

/** Whether a process has `fifo` open for reading now: opening its write end without blocking then succeeds. */
function fifoHasReader(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return false;
    throw err;
  }
}

let daemon: TestDaemon | undefined;
let trap: Trap;
let sts: FakeGcpFederation;
let tokenServer: FakeGcpToken;
let allowedDir: string;
let outsideDir: string;
let fifo: string;

before(async () => {
  await installCrd(adminKubeConfig());
  trap = await startTrap();
  sts = await startGcpFederation({ audience: POOL, trust: await kubernetesIssuer() });
  tokenServer = await startGcpTokenServer();
  allowedDir = mkdtempSync(join(tmpdir(), 'outbound-allowed-'));
  outsideDir = mkdtempSync(join(tmpdir(), 'outbound-outside-'));
  // A FIFO as the forbidden file: a reader would block on it, and the test would see that reader.
  fifo = join(outsideDir, 'daemon-only');
  execFileSync('mkfifo', [fifo]);
  await createNamespace(sourceNs);
  await createNamespace(targetNs);
  await createServiceAccount(sourceNs, 'puller');
  const good = await projectedToken(sourceNs, 'puller', `https:${POOL}`, allowedDir, 'gcp');
  // One loopback port (the local STS) and one directory: what an operator running a local STS would allow.
  daemon = await startTestDaemon([`--outbound-hosts=${new URL(sts.url).host}`, `--outbound-files=${allowedDir}`, '--token-timeout=60s'],
    { tokenCache: { floorMs: 1000, backoff: { baseMs: 500, capMs: 2000 } } });
  const secrets: Record<string, Record<string, unknown>> = {
    good: sts.credentialConfig(good.path),
    'hostile-url': {
      ...sts.credentialConfig(good.path),
      credential_source: { url: `${trap.url}/admin/shutdown`, headers: { 'X-Admin-Token': 'chosen-by-the-author' }, format: { type: 'text' } },
    },
    'hostile-file': { ...sts.credentialConfig(fifo) },
    'hostile-token-uri': { ...JSON.parse(tokenServer.createServiceAccount().json) as Record<string, unknown>, token_uri: `${trap.url}/token` },
  };
  for (const [name, config] of Object.entries(secrets)) {
    await createSecret({ metadata: { name, namespace: sourceNs }, type: 'Opaque', stringData: { 'credentials.json': JSON.stringify(config) } } as never);
  }
});

after(async () => {
  await deleteIpsAndWait(resources, 30_000);
  await daemon?.stop();
  await Promise.all([deleteNamespace(sourceNs), deleteNamespace(targetNs)]);
  await Promise.all([trap.close(), sts.close(), tokenServer.close()]);
  rmSync(allowedDir, { recursive: true, force: true });
  rmSync(outsideDir, { recursive: true, force: true });
  rest.close();
});

async function ipsWith(secret: string): Promise<string> {
  const name = uniqueName(`outbound-${secret}`);
  resources.push(name);
  await createIps(name, {
    registry: { gcp: [{ registries: ['europe-docker.pkg.dev'], credentialsSecret: { name: secret, namespace: sourceNs } }] },
    target: { namespaces: { names: [targetNs] }, secret: { name: `pull-${secret}` } },
  });
  return name;
}

/** The refusal the resource reports: Ready=False naming `field`, a Warning Event naming it too, never `values`. */
async function assertRefused(name: string, field: RegExp, values: string[]): Promise<void> {
  const ready = await eventually(async () => {
    const c = await readyCondition(name);
    return c?.status === 'False' && c.reason === 'SourceError' && c;
  }, { timeoutMs: 20_000, message: `${name} is Ready=False SourceError` });
  assert.match(ready.message, field);
  const event = await eventually(async () => (await eventsFor(name)).find((e) => e.type === 'Warning' && e.reason === 'SourceError'),
    { message: `${name} has a Warning Event` });
  assert.match(event.note ?? '', field);
  for (const value of values) {
    assert.ok(!ready.message.includes(value) && !(event.note ?? '').includes(value), `the refusal quotes no value: ${ready.message}`);
  }
}

test('a Secret inside the allowed port and directory gets its token from the local STS', { timeout: 90_000 }, async () => {
  const before = sts.stsIssued.length;
  const name = await ipsWith('good');
  await waitForSecret(targetNs, 'pull-good', 60_000);
  await eventually(async () => (await readyCondition(name))?.reason === 'Synced', { message: 'Synced' });
  assert.ok(sts.stsIssued.length > before, 'the daemon reached the allowed loopback port');
});

test('credential_source.url to a loopback server: no request, and the condition names the field', { timeout: 60_000 }, async () => {
  const name = await ipsWith('hostile-url');
  await assertRefused(name, /credential_source\.url names a host that --outbound-hosts does not list/, [trap.url, 'admin/shutdown', 'chosen-by-the-author']);
  assert.deepEqual(trap.requests, []);
});

test('credential_source.file outside --outbound-files: the file is never opened, and the condition names the field', { timeout: 60_000 }, async () => {
  const name = await ipsWith('hostile-file');
  await assertRefused(name, /credential_source\.file is refused: it is not under a directory of --outbound-files/, [fifo, outsideDir]);
  // A reader of the FIFO would block in it until the 60 s token deadline: none is there.
  assert.equal(fifoHasReader(fifo), false, 'nothing holds the file open');
});

test('a loopback token_uri on another port: no POST, and the condition names the field', { timeout: 60_000 }, async () => {
  const tokenRequests = tokenServer.requests;
  const name = await ipsWith('hostile-token-uri');
  await assertRefused(name, /token_uri names a host outside oauth2\.googleapis\.com, accounts\.google\.com that --outbound-hosts does not list/,
    [trap.url, new URL(trap.url).port]);
  assert.deepEqual(trap.requests, []);
  assert.equal(tokenServer.requests, tokenRequests, 'nor anywhere else');
});

test('after all of it, the trap has seen nothing and no process holds the file open', () => {
  assert.deepEqual(trap.requests, []);
  assert.equal(fifoHasReader(fifo), false);
});
