// One certificate for every replica, with the daemon as it runs (in the test process): two daemons started
// with the certificate Secret the chart renders (mounted as files, as the chart mounts it in every replica)
// behind one address, and a builder that trusts the one CA and dials the Service's name succeeds on every
// connection. Replicas that generate their own CA, as the daemon did for every replica before, fail that
// builder. Changed files are served to new connections without a restart and without dropping open ones.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { generateTls, servingHosts, type ServingTls } from '../../src/builder/tls.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { installCrd, startTestDaemon, type TestDaemon, type TestDaemonOptions } from '../support/daemon.ts';
import { eventually, uniqueName } from '../support/eventually.ts';
import { renderChart } from '../support/helm.ts';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy.ts';

const work = mkdtempSync(join(tmpdir(), 'builder-tls-'));
const cleanups: (() => Promise<void>)[] = [];

before(async () => { await installCrd(adminKubeConfig()); });

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(work, { recursive: true, force: true });
});

function writeTlsFiles(dir: string, tls: ServingTls): { certFile: string; keyFile: string; caFile: string } {
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') };
  writeFileSync(files.keyFile, tls.key, { mode: 0o600 });
  writeFileSync(files.certFile, tls.cert);
  writeFileSync(files.caFile, tls.ca ?? '');
  return files;
}

/** GET on a fresh connection (or on `agent`'s), trusting only `ca`: status, body, and whether the socket was reused. */
function get(url: string, ca: string, agent?: Agent, servername?: string): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: agent ?? false, timeout: 10_000, ...(servername ? { servername } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timed out')); });
    req.on('error', reject);
    req.end();
  });
}

function tlsArgs(files: { certFile: string; keyFile: string; caFile: string }): string[] {
  return ['--builder-tls-cert', files.certFile, '--builder-tls-key', files.keyFile, '--builder-tls-ca', files.caFile];
}

async function startDaemon(args: string[], opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  const daemon = await startTestDaemon(args, opts);
  cleanups.push(() => daemon.stop());
  return daemon;
}

/** Two daemons started with the same flags, as the chart's two replicas are. */
async function replicas(args: string[]): Promise<TestDaemon[]> {
  return [await startDaemon(args, { identity: uniqueName('replica') }), await startDaemon(args, { identity: uniqueName('replica') })];
}

async function behindProxy(daemons: TestDaemon[]): Promise<RoundRobinProxy> {
  const proxy = await startRoundRobinProxy(daemons.map((d) => ({ host: '127.0.0.1', port: Number(new URL(d.builderUrl).port) })));
  cleanups.push(() => proxy.close());
  return proxy;
}

/** The chart's default builder certificate Secret (Helm-generated), as the pods see it. */
async function chartTls(): Promise<ServingTls> {
  const objects = parseAllDocuments(await renderChart({ release: 'rel', namespace: 'ops', showOnly: ['templates/builder-tls.yaml'] }))
    .map((d) => d.toJS() as { kind: string; data: Record<string, string> });
  const secret = objects.find((o) => o.kind === 'Secret');
  const pem = (key: string): string => Buffer.from(secret?.data[key] ?? '', 'base64').toString();
  return { cert: pem('tls.crt'), key: pem('tls.key'), ca: pem('ca.crt') };
}

test('two daemons serving the chart\'s certificate behind one address: a client trusting one CA succeeds on every connection', { timeout: 90_000 }, async () => {
  const shared = await chartTls();
  const daemons = await replicas(tlsArgs(writeTlsFiles(work, shared)));
  const proxy = await behindProxy(daemons);
  const results = [];
  // The chart's certificate names the Service, as a builder in the cluster dials it.
  for (let i = 0; i < 12; i++) results.push(await get(`https://${proxy.address}/v1/ca.crt`, shared.ca ?? '', undefined, 'rel-pullsecret-sync.ops.svc'));
  assert.deepEqual(results.map((r) => r.status), Array<number>(12).fill(200));
  for (const r of results) assert.equal(r.body, shared.ca);
  assert.deepEqual(proxy.connections, [6, 6], 'both replicas answered');
});

test('replicas that each generate their own CA fail a client that trusts one of them', { timeout: 90_000 }, async () => {
  const daemons = await replicas([]);
  const firstCa = (await get(`${daemons[0]!.builderUrl}/v1/ca.crt`, '', new Agent({ rejectUnauthorized: false }))).body;
  const proxy = await behindProxy(daemons);
  const outcomes = [];
  for (let i = 0; i < 4; i++) outcomes.push(await get(`https://${proxy.address}/v1/ca.crt`, firstCa).then(() => 'ok', (err: unknown) => (err as Error).message));
  assert.equal(outcomes.filter((o) => o === 'ok').length, 2);
  for (const o of outcomes.filter((x) => x !== 'ok')) assert.match(o, /certificate/);
});

test('changed certificate files are served to new connections without dropping open ones', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(work, 'reload-'));
  const first = await generateTls({ hosts: servingHosts() });
  const files = writeTlsFiles(dir, first);
  const daemon = await startDaemon(tlsArgs(files), { builderTlsCheckMs: 100 });
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca: first.ca ?? '' });
  cleanups.push(() => { keepAlive.destroy(); return Promise.resolve(); });
  assert.equal((await get(`${daemon.builderUrl}/v1/ca.crt`, first.ca ?? '', keepAlive)).status, 200);

  const second = await generateTls({ hosts: servingHosts() });
  writeTlsFiles(dir, second);
  const served = await eventually(async () => {
    const res = await get(`${daemon.builderUrl}/v1/ca.crt`, second.ca ?? '').catch(() => undefined);
    return res?.status === 200 && res;
  }, { timeoutMs: 10_000, intervalMs: 100, message: 'the new certificate is served' });
  assert.equal(served.body, second.ca, '/v1/ca.crt follows the files');
  await assert.rejects(get(`${daemon.builderUrl}/v1/ca.crt`, first.ca ?? ''), /certificate/, 'new connections no longer get the old certificate');
  const onOpen = await get(`${daemon.builderUrl}/v1/ca.crt`, first.ca ?? '', keepAlive);
  assert.deepEqual([onOpen.status, onOpen.reused], [200, true], 'the connection opened before the change still answers');

  const refusals = (): number => daemon.logs.filter((l) => l.includes('builder TLS files changed but cannot be used')).length;
  const reported = refusals();
  writeFileSync(files.keyFile, first.key); // a key that does not match the certificate: refused, the old pair stays
  await eventually(() => refusals() > reported, { timeoutMs: 10_000, intervalMs: 100, message: 'the mismatched pair is reported' });
  assert.equal((await get(`${daemon.builderUrl}/v1/ca.crt`, second.ca ?? '')).status, 200);
});
