// The daemon in the test process, against the testbed, with its log lines captured so tests can read
// them (and search them for leaked credentials).
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../../src/kube/rest.ts';
import { parse } from 'yaml';
import { parseConfig } from '../../src/cli/config.ts';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/cli/run.ts';
import { createLogger } from '../../src/log/logger.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { eventually } from './eventually.ts';

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

export async function startTestDaemon(extraArgs: string[] = [], opts: DaemonOptions = {}): Promise<TestDaemon> {
  const bed = currentTestbed();
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
  const config = parseConfig(['--kubeconfig', bed.kubeconfig, '--leader-elect=false', '--log-level=debug',
    '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', ...extraArgs], {});
  const daemon = await startDaemon(config, createLogger('debug', sink), { identity: 'test-daemon', ...opts });
  return { ...daemon, logs };
}
