// The kinds of value `run`'s flags take. Each says what a good value looks like, in the words of the error
// message a bad one gets, and parses the text strictly: `0x10`, `1e3` or ` 5` are not numbers here,
// because a typo that still parses would be worse than one that is refused.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter } from 'node:path';
import { parseAddress } from '../util/address.ts';
import { isDnsSubdomain } from '../util/names.ts';
import { errorMessage } from '../util/errors.ts';
import { parseDirEntry, parseHostEntry } from '../util/outbound.ts';

export interface ValueKind<T> {
  /** What a value must be, completing "--flag must be …". */
  expect: string;
  /** The value, or undefined when `raw` is not one. */
  parse(raw: string): T | undefined;
  /** Why `raw` was refused, when there is more to say than `expect` (an OS error, say). */
  why?(raw: string): string | undefined;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const decimal = (raw: string): number | undefined => (DECIMAL.test(raw) ? Number(raw) : undefined);

export const count: ValueKind<number> = {
  expect: 'a whole number of at least 1, such as 4',
  parse: (raw) => (/^\d+$/.test(raw) && Number(raw) >= 1 && Number.isSafeInteger(Number(raw)) ? Number(raw) : undefined),
};

export const rate: ValueKind<number> = {
  expect: 'a number greater than 0, such as 50 or 0.5',
  parse: (raw) => {
    const n = decimal(raw);
    return n !== undefined && n > 0 ? n : undefined;
  },
};

export const fraction: ValueKind<number> = {
  expect: 'a number between 0 and 1 (both excluded), such as 0.5',
  parse: (raw) => {
    const n = decimal(raw);
    return n !== undefined && n > 0 && n < 1 ? n : undefined;
  },
};

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Timers overflow past 2^31 ms (about 24.8 days) and fire at once; a day is far beyond any sane deadline. */
const MAX_DURATION_MS = 24 * 3_600_000;

/** Milliseconds; a bare number counts as seconds (the flags' unit before units were accepted). */
export const duration: ValueKind<number> = {
  expect: 'a duration from 1ms to 24h, such as 30s, 2m or 500ms (a bare number is seconds)',
  parse: (raw) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
    const unit = m ? UNIT_MS[m[2] ?? 's'] : undefined;
    const ms = m && unit ? Number(m[1]) * unit : undefined;
    return ms !== undefined && ms >= 1 && ms <= MAX_DURATION_MS ? ms : undefined;
  },
};

export const bool: ValueKind<boolean> = {
  expect: 'true or false',
  parse: (raw) => (raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined),
};

export const address: ValueKind<string> = {
  expect: '[host]:port with a port from 0 to 65535, such as :8080 or 127.0.0.1:8080',
  parse: (raw) => {
    const parsed = parseAddress(raw);
    return parsed && parsed.port <= 65535 ? raw : undefined;
  },
};

export function oneOf<T extends string>(choices: readonly T[]): ValueKind<T> {
  return {
    expect: `one of ${choices.join(', ')}`,
    parse: (raw) => choices.find((c) => c === raw),
  };
}

/** A namespace or Service name: an RFC 1123 label. */
export const dnsLabel: ValueKind<string> = {
  expect: 'a DNS label (lowercase letters, digits and "-", at most 63 characters), such as pullsecret-sync',
  parse: (raw) => (/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(raw) ? raw : undefined),
};

/** A domain name, such as a Google universe: an RFC 1123 subdomain. */
export const dnsName: ValueKind<string> = {
  expect: 'a DNS name (lowercase letters, digits, "-" and "."), such as googleapis.com',
  parse: (raw) => (isDnsSubdomain(raw) ? raw : undefined),
};

export const text: ValueKind<string> = {
  expect: 'a non-empty value',
  parse: (raw) => raw || undefined,
};

function fileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    return errorMessage(err);
  }
}

/** A file the daemon can read now (it is read at start; a missing mount should fail here, by name). */
export const readableFile: ValueKind<string> = {
  expect: 'the path of a readable file',
  parse: (raw) => (raw && fileProblem(raw) === undefined ? raw : undefined),
  why: (raw) => (raw ? fileProblem(raw) : 'the path is empty'),
};

/**
 * A kubeconfig: one readable file, or a path list as kubectl reads KUBECONFIG (entries separated by ":",
 * missing ones skipped, at least one present; every present one readable).
 */
export const kubeconfigPaths: ValueKind<string> = {
  expect: 'the path of a readable file, or a ":"-separated list of paths of which at least one exists',
  parse: (raw) => (raw && kubeconfigProblem(raw) === undefined ? raw : undefined),
  why: (raw) => (raw ? kubeconfigProblem(raw) : 'the path is empty'),
};

function kubeconfigProblem(raw: string): string | undefined {
  const paths = raw.split(delimiter).filter((p) => p !== '');
  if (paths.length === 1) return fileProblem(paths[0] ?? '');
  const problems = paths.map((p) => [p, fileProblem(p)] as const);
  const bad = problems.find(([, why]) => why !== undefined && why !== 'no such file');
  if (bad) return `${bad[0]}: ${bad[1] ?? ''}`;
  return problems.some(([, why]) => why === undefined) ? undefined : 'none of its files exists';
}

/** A comma-separated list whose every entry `parse` accepts; empty entries are ignored. */
function listOf(expect: string, parse: (entry: string) => unknown): ValueKind<string[]> {
  return {
    expect,
    parse: (raw) => {
      const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
      return entries.every((e) => parse(e) !== undefined) ? entries : undefined;
    },
    why: (raw) => {
      const bad = raw.split(',').map((e) => e.trim()).find((e) => e !== '' && parse(e) === undefined);
      return bad === undefined ? undefined : `"${bad}" is not one`;
    },
  };
}

/** Hosts Secret and resource content may name beyond the public cloud endpoints (util/outbound.ts). */
export const hostList = listOf('a comma-separated list of hosts, host:port or *.domain, such as 169.254.169.254,*.corp.example', parseHostEntry);

/** Directories whose files Secret content may name (util/outbound.ts). */
export const dirList = listOf('a comma-separated list of absolute directories, such as /var/run/secrets/tokens', parseDirEntry);

/** An admission webhook's timeoutSeconds: whole seconds from 1 to 30 (the API server's range), in ms. */
export const webhookTimeout: ValueKind<number> = {
  expect: 'whole seconds from 1s to 30s, such as 2s',
  parse: (raw) => {
    const ms = duration.parse(raw);
    return ms !== undefined && ms % 1000 === 0 && ms >= 1000 && ms <= 30_000 ? ms : undefined;
  },
};

/** An https URL without query or fragment, such as where the API server reaches a webhook. */
export const httpsUrl: ValueKind<string> = {
  expect: 'an https URL without query, fragment or user, such as https://127.0.0.1:9443',
  parse: (raw) => {
    if (!URL.canParse(raw)) return undefined;
    const url = new URL(raw);
    return url.protocol === 'https:' && !url.search && !url.hash && !url.username && !url.password ? raw : undefined;
  },
};
