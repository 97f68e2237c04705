// moto_server on loopback: the AWS emulator for ECR and STS.
import { join } from 'node:path';
import { ensureMoto } from './apt.ts';
import { freePort, startProcess, waitFor, type Started } from './processes.ts';

export interface MotoInfo {
  endpoint: string;
  pid: number;
}

export async function startMoto(dir: string): Promise<{ info: MotoInfo; proc: Started }> {
  await ensureMoto();
  const port = await freePort();
  // The state directory on the command line lets `down` recognise the process as ours.
  const proc = startProcess('moto_server', 'moto_server', ['-H', '127.0.0.1', '-p', String(port)], join(dir, 'moto.log'),
    { ...process.env, PULLSECRET_SYNC_TESTBED_DIR: dir });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto_server', async () => (await fetch(`${endpoint}/moto-api/`)).status < 500, 60_000, proc);
  return { info: { endpoint, pid: proc.pid }, proc };
}
