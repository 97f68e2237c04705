// `npm run demo`: the local control plane, the CRD, the examples, the daemon in the foreground, and
// namespaces created one after another so a newcomer sees Secrets appear. Ctrl-C ends it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest, isStatus } from '../src/kube/rest.ts';
import { installCrd } from '../test/support/daemon.ts';
import { isRunning, readState, startTestbed } from '../test/testbed/testbed.ts';

const root = join(import.meta.dirname, '..');
const bedDir = join(root, '.testbed', 'bed');
const say = (line: string) => { console.log(`\x1b[36m[demo]\x1b[0m ${line}`); };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function apply(rest: KubeRest, file: string): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(join(root, file), 'utf8'))) {
    const obj = doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
    const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
    const plural = `${obj.kind.toLowerCase()}s`;
    const path = obj.metadata.namespace ? `${base}/namespaces/${obj.metadata.namespace}/${plural}` : `${base}/${plural}`;
    await rest.call({ method: 'POST', path, body: obj }).catch((err: unknown) => { if (!isStatus(err, 409)) throw err; });
    say(`applied ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`);
  }
}

async function secretIn(rest: KubeRest, namespace: string, name: string): Promise<boolean> {
  return rest.call({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${name}` }).then(() => true, () => false);
}

async function main(): Promise<void> {
  let state = readState(bedDir);
  if (!state || !isRunning(state)) {
    say('starting the local control plane (the first run builds it: several minutes)');
    state = await startTestbed({ dir: bedDir, log: say });
  }
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const rest = new KubeRest(kc);
  await installCrd(kc);
  say('CRD imagepullsecrets.pullsecret-sync.dev installed');
  await apply(rest, 'examples/registry-access.yaml');
  await apply(rest, 'examples/platform-registries.yaml');

  say('starting the daemon in the foreground; its JSON logs follow');
  const daemon = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), 'run', '--kubeconfig', state.kubeconfig,
    '--leader-elect=false', '--metrics-addr=127.0.0.1:0', '--health-addr=127.0.0.1:0', '--builder-addr=127.0.0.1:0'], { stdio: 'inherit' });
  process.on('SIGINT', () => { daemon.kill('SIGTERM'); });

  const steps: [string, Record<string, string>][] = [
    ['team-a', {}], ['team-b', {}], ['payments', { 'registry-access': 'true' }], ['sandbox', {}],
  ];
  for (const [name, labels] of steps) {
    await pause(1500);
    const started = Date.now();
    await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels } } })
      .catch((err: unknown) => { if (!isStatus(err, 409)) throw err; });
    say(`created namespace ${name} ${Object.keys(labels).length ? JSON.stringify(labels) : '(no labels)'}`);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !(await secretIn(rest, name, 'registry-pull-secret'))) await pause(20);
    const has = await secretIn(rest, name, 'registry-pull-secret');
    say(has ? `  -> Secret registry-pull-secret present after ${Date.now() - started} ms` : '  -> no Secret (not selected)');
  }
  say(`done; try: kubectl --kubeconfig ${state.kubeconfig} label ns sandbox registry-access=true`);
  say('Ctrl-C stops the daemon; `npm run testbed -- down` stops the control plane');
}

await main();
