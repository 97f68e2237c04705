// The daemon in the test process, against the testbed, with its log lines captured so tests can read
// them (and search them for leaked credentials).
import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../../src/kube/rest.ts';
import { parse } from 'yaml';
import { parseConfig } from '../../src/daemon/config.ts';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/run.ts';
import { createLogger } from '../../src/log/logger.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { applyChartRbac } from './chart-rbac.ts';
import { assertNoCredentials } from './leaks.ts';
import { eventually, uniqueName } from './eventually.ts';
import { LOCAL_OUTBOUND_ARGS } from './outbound.ts';

export interface TestDaemon extends Daemon {
  logs: string[];
}

const crdFile = join(import.meta.dirname, '..', '..', 'crds', 'imagepullsecrets.pullsecret-sync.dev.yaml');

/**
 * Applies the CRD from crds/ with server-side apply and waits until it is Established. Plain REST, not
 * client-node's typed API: its serializer drops the `x-kubernetes-*` schema keys of a plain object.
 */
export async function installCrd(kc: KubeConfig): Promise<void> {
  const rest = new KubeRest(kc);
  const crd = parse(readFileSync(crdFile, 'utf8')) as { metadata: { name: string } };
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
  try {
    await rest.call({ method: 'PATCH', path: `${path}?fieldManager=pullsecret-sync-tests&force=true`,
      contentType: 'application/apply-patch+yaml', body: crd });
    await eventually(async () => {
      const current = await rest.call<{ status?: { conditions?: { type: string; status: string }[] } }>({ method: 'GET', path });
      return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    }, { message: 'CRD established' });
  } finally {
    rest.close();
  }
}

/**
 * A kubeconfig of the Helm chart's ServiceAccount, bound by exactly the chart's RBAC: the controller's
 * integration tests run with the privileges a real install has, so a missing rule fails them. Its cleanup
 * (run by the daemon's stop) deletes the namespace and the cluster-scoped RBAC it created.
 */
async function chartKubeconfig(): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const rbac = await applyChartRbac({ namespace: uniqueName('pullsecret-sync') });
  const file = join(mkdtempSync(join(tmpdir(), 'chart-sa-')), 'kubeconfig');
  writeFileSync(file, rbac.kubeConfig.exportConfig(), { mode: 0o600 });
  return { file, cleanup: async () => {
    await rbac.cleanup();
    rmSync(dirname(file), { recursive: true, force: true });
  } };
}

export interface TestDaemonOptions extends DaemonOptions {
  /** `chart` (default): the chart's ServiceAccount and RBAC; `admin`: the testbed's cluster admin. */
  identityOf?: 'chart' | 'admin';
}

export async function startTestDaemon(extraArgs: string[] = [], opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  const bed = currentTestbed();
  const access = opts.identityOf === 'admin' ? { file: bed.kubeconfig, cleanup: () => Promise.resolve() } : await chartKubeconfig();
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
  const config = parseConfig(['--kubeconfig', access.file, '--leader-elect=false', '--log-level=debug',
    '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', '--builder-addr=127.0.0.1:0', ...LOCAL_OUTBOUND_ARGS, ...extraArgs], {});
  // A daemon that fails to start leaves nothing behind either: its namespace and RBAC go at once.
  const daemon = await startDaemon(config, createLogger('debug', sink), { identity: 'test-daemon', ...opts }).catch(async (err: unknown) => {
    await access.cleanup().catch(() => undefined);
    throw err;
  });
  return { ...daemon, logs, stop: async () => {
    try {
      await daemon.stop();
    } finally {
      await access.cleanup();
    }
    assertNoCredentials(logs.join(''), 'the test daemon\'s logs');
  } };
}
