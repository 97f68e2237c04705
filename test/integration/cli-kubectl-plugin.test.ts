// The binary as a kubectl plugin: with package.json's `kubectl-pullsecret_sync` bin entry on the PATH
// (linked the way npm links bins: to the built dist/ entry, executable), `kubectl pullsecret-sync …` runs
// the same commands. kubectl is the testbed's own build.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
import { installCrd } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { ensureKubectl } from '../testbed/binaries.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** Newest modification time under `dir`, in ms. */
async function newest(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Math.max(...entries.filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
}

/**
 * `npm run build`, unless dist/ is newer than every source file already. `--noCheck` emits the same files
 * without type checking them again (npm test's typecheck step does that), to keep the suite fast.
 */
async function build(): Promise<void> {
  const built = statSync(join(root, 'dist', 'main.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built > (await newest(join(root, 'src')))) return;
  await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--noCheck'], { cwd: root });
}

test('kubectl pullsecret-sync runs the built binary from the PATH', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const entry = pkg.bin['kubectl-pullsecret_sync'];
  assert.equal(entry, pkg.bin['pullsecret-sync']);
  await build();
  await installCrd(adminKubeConfig());
  const bin = scratchDir('plugin-bin');
  chmodSync(join(root, entry ?? ''), 0o755); // what npm does to a bin on install
  symlinkSync(join(root, entry ?? ''), join(bin, 'kubectl-pullsecret_sync'));
  // Node 24 from node_modules/.bin first: the entry's shebang is `env node`.
  const env = { ...process.env, PATH: [bin, join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter) };
  const kubectl = await ensureKubectl();

  const plugins = await run(kubectl, ['plugin', 'list'], { env }).catch((err: unknown) => err as { stdout: string });
  assert.match(plugins.stdout, /kubectl-pullsecret_sync/);
  const help = await run(kubectl, ['pullsecret-sync', 'plan', '--help'], { env });
  assert.match(help.stdout, /usage: pullsecret-sync plan/);
  // Retried: right after the CRD is established its storage may still answer "(re)initializing".
  const plan = await eventually(() => run(kubectl, ['pullsecret-sync', 'plan', '--kubeconfig', currentTestbed().kubeconfig, '-o', 'json'], { env }),
    { timeoutMs: 15_000, intervalMs: 500, message: 'kubectl pullsecret-sync plan' });
  assert.ok(Array.isArray((JSON.parse(plan.stdout) as { resources: unknown }).resources));
});
