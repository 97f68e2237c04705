// `npm run testbed -- up | down | status`: a long-lived bed in .testbed/ for development and demos.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isRunning, readState, startTestbed, stopTestbed } from './testbed.ts';

const root = resolve(process.env.TESTBED_DIR ?? '.testbed');
const stateDir = join(root, 'bed');

async function up(): Promise<void> {
  const existing = readState(stateDir);
  if (existing && isRunning(existing)) {
    console.log(`testbed already running: ${existing.server} (kubeconfig ${join(root, 'kubeconfig')})`);
    return;
  }
  if (existing) await stopTestbed(existing);
  mkdirSync(root, { recursive: true });
  const state = await startTestbed({ dir: stateDir, registry: true, moto: true, log: (l) => { console.log(l); } });
  copyFileSync(state.kubeconfig, join(root, 'kubeconfig'));
  console.log(`kubeconfig: ${join(root, 'kubeconfig')}`);
  console.log(`registry:   ${state.registry?.host ?? '-'} (CA ${state.pki.ca.cert})`);
  console.log(`moto:       ${state.moto?.endpoint ?? '-'}`);
  console.log(`tests reuse this bed with PULLSECRET_SYNC_TESTBED=${stateDir}`);
}

async function down(): Promise<void> {
  const state = readState(stateDir);
  if (!state) {
    console.log('no testbed');
    return;
  }
  await stopTestbed(state);
  console.log('testbed stopped');
}

function status(): void {
  const state = readState(stateDir);
  if (!state) {
    console.log('no testbed');
    process.exitCode = 1;
    return;
  }
  const running = isRunning(state);
  console.log(`${running ? 'running' : 'stopped'}: Kubernetes ${state.kubernetesVersion} at ${state.server}`);
  for (const p of state.processes) console.log(`  ${p.name} pid ${p.pid}`);
  if (!running) process.exitCode = 1;
}

const command = process.argv[2];
const commands: Record<string, () => Promise<void> | void> = { up, down, status };
const action = command ? commands[command] : undefined;
if (!action) {
  console.error('usage: npm run testbed -- up | down | status');
  process.exitCode = 2;
} else {
  await action();
}
