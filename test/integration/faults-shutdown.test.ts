// SIGTERM with work in flight: the leader SIGTERMed while finalizing a deleted resource that owns 1,000
// Secrets releases the Lease and exits 0 within --shutdown-timeout, and the standby leads within the
// documented hand-over bound of that exit and finishes the finalize; a daemon SIGTERMed while a GCP and
// an Azure token request hang (local endpoints that accept connections and never answer) exits 0 within
// --shutdown-timeout too.
//
// Reproduction before the fix (60f1225, 2026-12-06): the finalizing leader exited only when its 10 s
// shutdown deadline fired, without releasing the Lease, and the standby led 15 s after that exit; the
// daemon with hung GCP and Azure requests did not exit at all (the deadline was disarmed once stop()
// returned, and the SDKs' sockets kept the process alive).
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { API_VERSION, PLURAL } from '../../src/api/v1alpha1/types.ts';
import { LEASE_TIMING } from '../../src/kube/leader-election.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, readIps, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges, ownedSecrets } from '../support/end-state.ts';
import { setEnv } from '../support/env.ts';
import { eventually } from '../support/eventually.ts';
import { startGcpTokenServer } from '../support/fake-clouds/gcp-token.ts';

const REGISTRY = 'registry.shutdown.test';
/** --shutdown-timeout's default: the process ends within this of SIGTERM, whatever is in flight. */
const SHUTDOWN_MS = 10_000;
/** As in operations.test.ts: the old leader's release, the standby's Lease read and write, late timers. */
const HANDOVER_SLACK_MS = 500;
const AFTER_RELEASE_MS = LEASE_TIMING.retryPeriodMs + HANDOVER_SLACK_MS;
const FAST = ['--leader-elect=false', '--kube-qps=500', '--kube-burst=500'];
const namespaces: string[] = [];
const resources: string[] = [];
const running: DaemonProcess[] = [];

/** A TCP server that accepts every connection and never answers a byte; counts connections. */
interface Silent { server: Server; held: Set<Socket>; connections: number; url: string }

async function silentServer(): Promise<Silent> {
  const s: Silent = { server: createServer(), held: new Set(), connections: 0, url: '' };
  s.server.on('connection', (socket) => {
    s.connections++;
    s.held.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => s.held.delete(socket));
  });
  await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${String((s.server.address() as { port: number }).port)}`;
  return s;
}

function closeSilent(s: Silent | undefined): void {
  if (!s) return;
  for (const socket of s.held) socket.destroy();
  if (s.server.listening) s.server.close();
}

const silents: Silent[] = [];

before(async () => { await installCrd(adminKubeConfig()); });

after(async () => {
  for (const s of silents) closeSilent(s);
  await cleanUp({ running, resources, namespaces }, FAST, 120_000);
});

async function namespacesLabelled(count: number, labels: Record<string, string>): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${uniqueName('sd')}-${String(i)}`);
  namespaces.push(...names);
  for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((ns) => createNamespace(ns, labels)));
  return names;
}

async function holder(leaseNs: string): Promise<string> {
  const lease = await rest.call<{ spec?: { holderIdentity?: string } }>({ method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases/pullsecret-sync` });
  return lease.spec?.holderIdentity ?? '';
}

/** When a replica logged that it became leader (ms). */
async function leadingSince(d: DaemonProcess, timeoutMs: number): Promise<number> {
  const line = await eventually(() => d.logs().split('\n').find((l) => l.includes('"Became leader"')),
    { timeoutMs, intervalMs: 50, message: `${d.name} logged that it leads` });
  return Date.parse((JSON.parse(line) as { time: string }).time);
}

/** The exit code, or a failure once `ms` passed without an exit (the process is then killed). */
async function exitOf(d: DaemonProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      d.child.kill('SIGKILL');
      reject(new Error(`${d.name} did not exit within ${String(ms)} ms of SIGTERM`));
    }, ms);
  });
  try {
    return await Promise.race([d.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const secretDeletes = async (d: DaemonProcess) =>
  metricValue(await scrape(d), 'pullsecret_sync_api_writes_total', 'verb="delete",resource="secrets",code="2xx"') ?? 0;

test('the leader SIGTERMed while finalizing 1,000 Secrets exits 0 within the shutdown timeout, releases the Lease, and the standby leads within a retry period', { timeout: 300_000 }, async () => {
  const label = `sd-${Date.now().toString(36)}`;
  const [sourceNs = '', leaseNs = ''] = await namespacesLabelled(2, {});
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { [REGISTRY]: { username: 'u', password: 'sd' } }));
  const selected = new Set(await namespacesLabelled(1000, { [label]: 'yes' }));
  const name = uniqueName('sd');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'pull' } } });
  // Converged by a fast single daemon first; the replicas below run with the default --kube-qps (50), so
  // their finalize over 1,000 Secrets takes about 20 s and is certainly in flight at the SIGTERM.
  const converger = await spawnDaemon(uniqueName('sd-c'), FAST);
  running.push(converger);
  await converges({ owner: name, secretName: 'pull', namespaces: selected, auths: { [REGISTRY]: authOf('u', 'sd') } }, 180_000);
  converger.child.kill('SIGTERM');
  assert.equal(await converger.exited, 0);
  running.splice(running.indexOf(converger), 1);

  const args = [`--namespace=${leaseNs}`, '--leader-elect=true'];
  const a = await spawnDaemon(uniqueName('sd-a'), args);
  running.push(a);
  await eventually(async () => (await holder(leaseNs)) === a.name, { timeoutMs: 10_000, message: 'a leads' });
  const b = await spawnDaemon(uniqueName('sd-b'), args);
  running.push(b);

  await rest.call({ method: 'DELETE', path: `/apis/${API_VERSION}/${PLURAL}/${name}` });
  await eventually(async () => (await secretDeletes(a)) >= 50, { timeoutMs: 60_000, intervalMs: 50, message: 'a is finalizing' });
  const term = Date.now();
  a.child.kill('SIGTERM');
  const code = await exitOf(a, SHUTDOWN_MS + 5000);
  const exit = Date.now();
  assert.equal(code, 0);
  const left = (await ownedSecrets(name)).size;
  assert.ok(left > 0, `the finalize was still in flight when a exited (${String(left)} Secrets left)`);
  assert.ok(exit - term <= SHUTDOWN_MS, `a exited ${String(exit - term)} ms after SIGTERM; the bound is ${String(SHUTDOWN_MS)} ms`);
  assert.doesNotMatch(a.logs(), /Shutdown deadline passed/, 'a stopped cleanly, not by its deadline');
  assert.notEqual(await holder(leaseNs), a.name, 'a released the Lease');

  const led = await leadingSince(b, LEASE_TIMING.leaseDurationMs + 10_000);
  assert.ok(led - exit <= AFTER_RELEASE_MS, `b led ${String(led - exit)} ms after a exited; the bound is ${String(AFTER_RELEASE_MS)} ms`);
  await eventually(async () => (await readIps(name)) === undefined && (await ownedSecrets(name)).size === 0,
    { timeoutMs: 120_000, intervalMs: 500, message: 'b finishes the finalize: every Secret removed, the resource gone' });
  resources.splice(resources.indexOf(name), 1);
  console.error(`[shutdown] SIGTERM while finalizing (${String(1000 - left)} of 1000 Secrets deleted): exit 0 after ${String(exit - term)} ms; `
    + `b led ${String(led - exit)} ms after the exit (${String(led - term)} ms after the SIGTERM)`);
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  running.splice(running.indexOf(b), 1);
});

test('SIGTERM while a GCP and an Azure token request hang: exit 0 within the shutdown timeout', { timeout: 120_000 }, async () => {
  const gcpSilent = await silentServer();
  const imdsSilent = await silentServer();
  silents.push(gcpSilent, imdsSilent);
  const [keysNs = '', target = ''] = await namespacesLabelled(2, {});
  // A real service-account key whose token_uri names the silent endpoint (the key signs the grant locally).
  const tokens = await startGcpTokenServer();
  const account = JSON.stringify({ ...JSON.parse(tokens.createServiceAccount().json) as object, token_uri: `${gcpSilent.url}/token` });
  await tokens.close();
  await createSecret({ metadata: { name: 'gcp-sa', namespace: keysNs }, type: 'Opaque', stringData: { 'credentials.json': account } } as never);
  const gcp = uniqueName('sd-gcp');
  const azure = uniqueName('sd-azure');
  resources.push(gcp, azure);
  await createIps(gcp, { registry: { gcp: [{ registries: ['europe-docker.pkg.dev'], credentialsSecret: { name: 'gcp-sa', namespace: keysNs } }] },
    target: { namespaces: { names: [target] }, secret: { name: 'pull-gcp' } } });
  // No credentials Secret: the daemon's managed identity, whose IMDS endpoint is the silent server.
  await createIps(azure, { registry: { azure: [{ registry: 'shutdown.azurecr.io' }] },
    target: { namespaces: { names: [target] }, secret: { name: 'pull-azure' } } });

  const restore = setEnv({ AZURE_POD_IDENTITY_AUTHORITY_HOST: imdsSilent.url, IDENTITY_ENDPOINT: undefined, IDENTITY_HEADER: undefined,
    IMDS_ENDPOINT: undefined, MSI_ENDPOINT: undefined, AZURE_CLIENT_ID: undefined, AZURE_TENANT_ID: undefined, AZURE_FEDERATED_TOKEN_FILE: undefined });
  let daemon: DaemonProcess;
  try {
    // The default --token-timeout (30 s) is far past the shutdown timeout: both requests hang at the SIGTERM.
    daemon = await spawnDaemon(uniqueName('sd-tok'), ['--leader-elect=false', '--outbound-hosts=127.0.0.1']);
  } finally {
    restore();
  }
  running.push(daemon);
  await eventually(() => gcpSilent.connections > 0 && imdsSilent.connections > 0,
    { timeoutMs: 30_000, message: 'a GCP and an Azure token request are in flight' });
  const t0 = Date.now();
  daemon.child.kill('SIGTERM');
  const code = await exitOf(daemon, SHUTDOWN_MS + 5000);
  const exitMs = Date.now() - t0;
  running.splice(running.indexOf(daemon), 1);
  assert.equal(code, 0);
  assert.ok(exitMs <= SHUTDOWN_MS, `SIGTERM ended the daemon in ${String(exitMs)} ms with hung GCP and Azure requests in flight`);
  assert.doesNotMatch(daemon.logs(), /Shutdown deadline passed/, 'the daemon stopped cleanly, not by its deadline');
  console.error(`[shutdown] SIGTERM to exit ${String(exitMs)} ms with hung GCP and Azure token requests in flight`);
});
