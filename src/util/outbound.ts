// The one rule for where the daemon goes on behalf of whoever writes a resource or a source Secret
// (docs/security.md): a URL, host or file that such content names is reached only when it is one of the
// public cloud endpoints the field is meant for (https, default port), or when the daemon's own flags
// allow it (--outbound-hosts, --outbound-files). Loopback, link-local and private addresses, plain
// http and files are therefore refused unless an operator listed them. Pure: no I/O, no DNS.
//
// Every answer is a problem message naming the field and what would allow it, never the value, so it can
// go into a condition, an Event or a log line as it is.
import { isAbsolute, normalize, sep } from 'node:path';

/** What the daemon's flags allow beyond the public endpoints. */
export interface OutboundAllowances {
  /** `host`, `host:port` or `*.domain` entries (--outbound-hosts); http or https, any port unless named. */
  readonly hosts?: readonly string[];
  /** Absolute directories whose files content may name (--outbound-files). */
  readonly files?: readonly string[];
}

/** A host entry: exact name or IP (normalised as URLs normalise them) or a `*.` suffix, and maybe a port. */
interface HostRule {
  host: string;
  suffix: boolean;
  port?: string;
}

/** An entry of --outbound-hosts as a rule, or undefined when it is not one. */
export function parseHostEntry(entry: string): HostRule | undefined {
  const suffix = entry.startsWith('*.');
  const rest = suffix ? entry.slice(2) : entry;
  if (rest === '' || /[/?#@\s]/.test(rest)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${rest}`);
  } catch {
    return undefined;
  }
  // A port given as 80 disappears in the URL (http's default); keep what was written.
  const port = /:(\d{1,5})$/.exec(rest)?.[1];
  if (port !== undefined && Number(port) > 65535) return undefined;
  return { host: url.hostname, suffix, ...(port === undefined ? {} : { port: String(Number(port)) }) };
}

/** An absolute, normalised directory of --outbound-files, or undefined. */
export function parseDirEntry(entry: string): string | undefined {
  if (!isAbsolute(entry)) return undefined;
  return normalize(entry).replace(/(.)\/+$/, '$1');
}

/** The port of a URL as a decimal string, the scheme's default filled in. */
function portOf(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

function hostMatches(pattern: string, hostname: string): boolean {
  return pattern.startsWith('*.') ? hostname.endsWith(pattern.slice(1)) : hostname === pattern;
}

export class OutboundPolicy {
  private readonly hosts: HostRule[];
  private readonly dirs: string[];

  /** Throws on an entry that is not a host or an absolute directory (the flag parser refuses those first). */
  constructor(allow: OutboundAllowances = {}) {
    this.hosts = (allow.hosts ?? []).map((entry) => {
      const rule = parseHostEntry(entry);
      if (!rule) throw new Error(`outbound host "${entry}" is not a host, host:port or *.domain`);
      return rule;
    });
    this.dirs = (allow.files ?? []).map((entry) => {
      const dir = parseDirEntry(entry);
      if (dir === undefined) throw new Error(`outbound directory "${entry}" is not an absolute path`);
      return dir;
    });
  }

  /** Whether --outbound-hosts lists `hostname` (and `port`, when the entry names one). */
  listed(hostname: string, port: string): boolean {
    return this.hosts.some((r) => (r.suffix ? hostname.endsWith(`.${r.host}`) : hostname === r.host) && (r.port === undefined || r.port === port));
  }

  /**
   * The problem with a URL named by `field`, or undefined when the daemon may request it. `publicHosts`
   * are the endpoints the field is meant for (exact names or `*.domain`): https on the default port.
   */
  urlProblem(field: string, value: unknown, publicHosts: readonly string[]): string | undefined {
    if (typeof value !== 'string') return `${field} is not a URL`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${field} is not a URL`;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${field} is not an http(s) URL`;
    if (url.username !== '' || url.password !== '') return `${field} must not carry a user name or password`;
    if (this.listed(url.hostname, portOf(url))) return undefined;
    const isPublic = publicHosts.some((p) => hostMatches(p, url.hostname));
    if (isPublic) return url.protocol === 'https:' && url.port === '' ? undefined : `${field} must be https on the default port`;
    const where = publicHosts.length > 0 ? ` outside ${publicHosts.join(', ')}` : '';
    return `${field} names a host${where} that --outbound-hosts does not list`;
  }

  /** The problem with a `host[:port]` named by `field` (the daemon will speak https to it), or undefined. */
  hostProblem(field: string, host: string, publicHosts: readonly string[]): string | undefined {
    return this.urlProblem(field, /[/?#@\s]/.test(host) ? undefined : `https://${host}/`, publicHosts);
  }

  /**
   * The problem with a file named by `field`, or undefined when it lies under a directory of
   * --outbound-files. Lexical: callers resolve symbolic links and ask again with the real path.
   */
  fileProblem(field: string, value: unknown): string | undefined {
    const help = this.dirs.length === 0
      ? 'the daemon reads no file that a Secret names unless --outbound-files lists its directory'
      : 'it is not under a directory of --outbound-files';
    if (typeof value !== 'string' || !isAbsolute(value) || normalize(value) !== value) return `${field} is refused: ${help}`;
    return this.dirs.some((dir) => value.startsWith(dir === sep ? dir : `${dir}${sep}`)) ? undefined : `${field} is refused: ${help}`;
  }
}

/** Allows the public endpoints only: the daemon's default. */
export const PUBLIC_ONLY = new OutboundPolicy();
