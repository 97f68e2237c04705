// `run` with leader election on and no Lease namespace, as a new user meets it: one error naming the
// namespace and both fixes, /readyz false with that message, a retry that backs off instead of a warning
// every retry period, and the replica campaigning on its own once the namespace exists.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createNamespace, deleteNamespace, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { adminKubeConfig } from '../testbed/clients.ts';

const leaseNs = uniqueName('lease');
let daemon: DaemonProcess | undefined;

after(async () => {
  daemon?.child.kill('SIGTERM');
  await daemon?.exited;
  await deleteNamespace(leaseNs);
  rest.close();
});

interface LogLine { level: string; msg: string; retryInMs?: number }
const lines = (d: DaemonProcess): LogLine[] => d.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);

test('no Lease namespace: one clear error, /readyz false, a backed-off retry, recovery once it exists', async () => {
  await installCrd(adminKubeConfig());
  daemon = await spawnDaemon(uniqueName('no-lease-ns'), [`--namespace=${leaseNs}`, '--leader-elect=true', '--log-level=debug'], undefined, false);
  const d = daemon;
  const readyz = await eventually(async () => {
    const res = await fetch(`${d.healthUrl}/readyz`).catch(() => undefined);
    const body = await res?.text();
    return res?.status !== 200 && body?.includes(leaseNs) && { status: res?.status, body };
  }, { timeoutMs: 30_000, message: '/readyz names the missing namespace' });
  assert.notEqual(readyz.status, 200);
  assert.match(readyz.body, /--namespace/);
  assert.match(readyz.body, /--leader-elect=false/);

  // The retry backs off (the first delay is already twice the 2 s retry period, less 10 % jitter), and
  // the error was logged once, with no per-retry warning.
  const retry = await eventually(() => lines(d).find((l) => l.msg === 'Lease namespace not found; retrying'),
    { timeoutMs: 20_000, message: 'a retry' });
  assert.ok((retry.retryInMs ?? 0) >= 3600, `first retry after ${String(retry.retryInMs)} ms`);
  const errors = lines(d).filter((l) => l.level === 'error' || l.level === 'fatal');
  assert.equal(errors.length, 1, 'one error line');
  assert.match(errors[0]?.msg ?? '', new RegExp(`"${leaseNs}".*--namespace.*--leader-elect=false`));
  assert.equal(lines(d).filter((l) => l.msg === 'Lease update failed').length, 0);

  await createNamespace(leaseNs);
  await eventually(async () => (await fetch(`${d.healthUrl}/readyz`)).status === 200,
    { timeoutMs: 30_000, message: 'ready once the namespace exists' });
  // Ready means the namespace is no longer in the way, as for any standby; leading follows within a
  // retry period (the first attempt after the namespace appears may still meet its admission cache).
  await eventually(() => lines(d).some((l) => l.msg === 'Became leader'),
    { timeoutMs: 10_000, message: 'the replica leads once the namespace exists' });
});
