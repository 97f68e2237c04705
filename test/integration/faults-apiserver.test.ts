// Fault injection on the API server, with the daemon as a separate process: (a) the kube-apiserver
// SIGKILLed and restarted with the same flags 10 times while namespaces and the source change, (b) the
// kube-apiserver frozen for 30 s, (c) etcd compacted past the daemon's watch revision so re-watches get
// 410 Gone and must relist (a managed Secret deleted meanwhile comes back only through the relist).
// After each: the exact end state, the daemon still running and healthy.
//
// Reproduction before the fix (case a, 2026-12-02): the daemon died at the first restart with
// "Error: aborted ... ECONNRESET" / "Unhandled 'error' event" from the readline over a watch stream.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import { compactEtcd, freeze, restartApiserver, thaw, waitApiserverReady } from '../testbed/faults.ts';
import { createIps, createNamespace, createSecret, deleteNamespace, deleteSecret, dockerConfigSecret, patchNamespace, patchSecret, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges, persist } from '../support/end-state.ts';
import { eventually } from '../support/eventually.ts';

const REGISTRY = 'registry.faults.test';
const sourceNs = uniqueName('faults-src');
const namespaces: string[] = [sourceNs];
const resources: string[] = [];
const running: DaemonProcess[] = [];

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(sourceNs);
});

after(async () => {
  await waitApiserverReady();
  await cleanUp({ running, resources, namespaces });
});

/** A source Secret, a resource selecting `label=yes` from it, and a running daemon. */
async function world(prefix: string) {
  const label = `${prefix}-${Date.now().toString(36)}`;
  const source = uniqueName(prefix);
  await createSecret(dockerConfigSecret(sourceNs, source, { [REGISTRY]: { username: 'u', password: `${prefix}-0` } }));
  const name = uniqueName(prefix);
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: source, namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'pull' } } });
  const daemon = await spawnDaemon(uniqueName(prefix), ['--leader-elect=false']);
  running.push(daemon);
  const selected = new Set<string>();
  const expected = (password: string) => ({ owner: name, secretName: 'pull', namespaces: selected, auths: { [REGISTRY]: authOf('u', password) } });
  const setPassword = (password: string) => persist(() => patchSecret(sourceNs, source, {
    data: dockerConfigSecret(sourceNs, source, { [REGISTRY]: { username: 'u', password } }).data }));
  const addNamespace = async (labelled: boolean) => {
    const ns = uniqueName(prefix);
    namespaces.push(ns);
    await persist(() => createNamespace(ns, labelled ? { [label]: 'yes' } : {}));
    if (labelled) selected.add(ns);
    return ns;
  };
  const setLabel = async (ns: string, on: boolean) => {
    await persist(() => patchNamespace(ns, { labels: { [label]: on ? 'yes' : null } }));
    if (on) selected.add(ns);
    else selected.delete(ns);
  };
  const removeNamespace = async (ns: string) => {
    await persist(() => deleteNamespace(ns));
    selected.delete(ns);
  };
  return { daemon, selected, expected, setPassword, addNamespace, setLabel, removeNamespace };
}

async function stillHealthy(daemon: DaemonProcess): Promise<void> {
  assert.equal(daemon.child.exitCode, null, `daemon ${daemon.name} still runs`);
  assert.equal(daemon.child.signalCode, null);
  assert.equal((await fetch(`${daemon.healthUrl}/healthz`)).status, 200);
}

test('a: kube-apiserver SIGKILLed and restarted 10 times during churn; the daemon stays up and converges exactly', { timeout: 400_000 }, async () => {
  const w = await world('fa');
  for (let i = 0; i < 3; i++) await w.addNamespace(true);
  const unselected = await w.addNamespace(false);
  await converges(w.expected('fa-0'));
  const downtimes: number[] = [];
  for (let round = 1; round <= 10; round++) {
    // The restart and the changes race each other: some land before the kill, some after the restart.
    const churn = async () => {
      await w.addNamespace(true);
      await w.addNamespace(true);
      const [first] = [...w.selected];
      if (round % 3 === 0 && first) await w.setLabel(first, false);
      else if (round % 3 === 1 && first) await w.removeNamespace(first);
      else await w.setLabel(unselected, round % 2 === 0);
      await w.setPassword(`fa-${round}`);
    };
    const [downMs] = await Promise.all([restartApiserver(), churn()]);
    downtimes.push(downMs);
  }
  const convergedMs = await converges(w.expected('fa-10'), 120_000);
  await stillHealthy(w.daemon);
  console.error(`[faults a] API server down ${Math.min(...downtimes)}-${Math.max(...downtimes)} ms per restart; converged ${convergedMs} ms after the 10th; ${w.selected.size} namespaces`);
});

test('b: kube-apiserver frozen for 30 s (SIGSTOP, SIGCONT); the daemon stays up and converges', { timeout: 180_000 }, async () => {
  const w = await world('fb');
  await w.addNamespace(true);
  await converges(w.expected('fb-0'));
  freeze('kube-apiserver');
  const frozenAt = Date.now();
  try {
    await new Promise<void>((resolve) => { setTimeout(resolve, 30_000); }); // the fault itself lasts 30 s
  } finally {
    thaw('kube-apiserver');
  }
  const thawedAt = Date.now();
  await w.addNamespace(true);
  await w.setPassword('fb-1');
  const convergedMs = await converges(w.expected('fb-1'), 90_000);
  await stillHealthy(w.daemon);
  console.error(`[faults b] frozen ${thawedAt - frozenAt} ms; converged ${Date.now() - thawedAt} ms after the thaw (${convergedMs} ms after the last change)`);
});

test('c: etcd compacted past the daemon\'s watch revision; re-watches get 410 Gone, relist, and converge', { timeout: 180_000 }, async () => {
  const w = await world('fc');
  const stays = await w.addNamespace(true);
  const goes = await w.addNamespace(true);
  await converges(w.expected('fc-0'));
  // Frozen, the daemon misses every change below. The restart comes first: it drops the daemon's
  // connections, so not even events already on the wire (held in its socket buffers) reach it, and its
  // watches resume from revisions etcd no longer has. A deletion is among the changes: only a relist
  // shows it (a watch resumed from "now" replays what exists, never what is gone), so the deleted Secret
  // comes back only if the daemon really relisted.
  w.daemon.child.kill('SIGSTOP');
  try {
    await restartApiserver();
    await w.addNamespace(true);
    await w.setLabel(goes, false);
    await persist(() => deleteSecret(stays, 'pull'));
    await w.setPassword('fc-1');
    await compactEtcd();
  } finally {
    w.daemon.child.kill('SIGCONT');
  }
  await converges(w.expected('fc-1'), 90_000);
  assert.ok(w.selected.has(stays) && !w.selected.has(goes));
  await eventually(() => /Watch expired; relisting/.test(w.daemon.logs()), { timeoutMs: 60_000, message: 'the daemon saw 410 Gone and relisted' });
  await stillHealthy(w.daemon);
});
