// The daemon in the test process, against the testbed, with its log lines captured so tests can read
// them (and search them for leaked credentials).
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { parseConfig } from '../../src/cli/config.ts';
import { startDaemon, type Daemon } from '../../src/cli/run.ts';
import { createLogger } from '../../src/log/logger.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { eventually } from './eventually.ts';

export interface TestDaemon extends Daemon {
  logs: string[];
}

const crdFile = join(import.meta.dirname, '..', '..', 'crds', 'imagepullsecrets.pullsecret-sync.dev.yaml');

/** Applies the CRD from crds/ (create or replace) and waits until it is Established. */
export async function installCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = parse(readFileSync(crdFile, 'utf8')) as { metadata: { name: string } };
  try {
    const existing = await api.readCustomResourceDefinition({ name: crd.metadata.name });
    await api.replaceCustomResourceDefinition({ name: crd.metadata.name,
      body: { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } } as never });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await api.createCustomResourceDefinition({ body: crd as never });
  }
  await eventually(async () => {
    const current = await api.readCustomResourceDefinition({ name: crd.metadata.name });
    return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  }, { message: 'CRD established' });
}

export async function startTestDaemon(extraArgs: string[] = []): Promise<TestDaemon> {
  const bed = currentTestbed();
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
  const config = parseConfig(['--kubeconfig', bed.kubeconfig, '--leader-elect=false', '--log-level=debug', ...extraArgs], {});
  const daemon = await startDaemon(config, createLogger('debug', sink));
  return { ...daemon, logs };
}
