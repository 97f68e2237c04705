// Child processes of the testbed: started in their own process group with output to a log file, waited
// for with a readiness probe, and stopped by pid only after checking the pid still belongs to us.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Started {
  name: string;
  pid: number;
  log: string;
  /** How it was started, so a fault test can start it again exactly so (faults.ts). */
  command?: string;
  args?: string[];
}

/** A free TCP port on loopback. The port is released before use; collisions are unlikely, not impossible. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * Starts `command` detached in a new process group, stdout and stderr appended to `log`. Detached so a
 * `testbed up` outlives the command that started it; the caller stops it with {@link stopProcess}.
 */
export function startProcess(name: string, command: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Started {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    child.unref();
    return { name, pid: child.pid, log, command, args };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when the process still runs and its command line or environment mentions `marker` (our state
 * directory), so a recycled pid is never signalled.
 */
export function ownsProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const mentions = (file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  };
  return mentions('cmdline') || mentions('environ');
}

/** Polls `probe` until it returns true; fails with the tail of the log when the deadline passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, started?: Started): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (started && !isAlive(started.pid)) throw new Error(`${what}: process exited\n${logTail(started.log)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms\n${started ? logTail(started.log) : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function logTail(log: string, lines = 30): string {
  try {
    return readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the leader process is gone. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signal('SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}
