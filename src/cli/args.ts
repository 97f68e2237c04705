// Command-line parsing shared by every command: node:util parseArgs in strict mode, plus what it lacks
// for people: `--help` and `-h` everywhere, and an unknown flag answered with the closest known one.
import { parseArgs } from 'node:util';
import { closest } from './closest.ts';

/** A user-facing problem with the command line or configuration: printed as one line, exit status 2. */
export class ConfigError extends Error {}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder of the value in help, e.g. `FILE`. */
  value?: string;
  help: string;
}

export type Options = Record<string, OptionSpec>;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type Parsed = { help: true } | { help: false; values: Values; positionals: string[] };

const HELP: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

/** True when `--help` or `-h` stands anywhere before a `--`. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Throws ConfigError naming the closest known flag for the first `--flag` not in `known`. */
export function rejectUnknownFlags(command: string, args: readonly string[], known: readonly string[]): void {
  for (const arg of args) {
    if (arg === '--') return;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0] ?? '';
    if (known.includes(name)) continue;
    const hint = closest(name, known);
    throw new ConfigError(`${command}: unknown flag --${name}${hint ? `; did you mean --${hint}?` : ''} (see pullsecret-sync ${command} --help)`);
  }
}

/** node:util parseArgs in strict mode, its errors as ConfigError naming the command and its help. */
export function parseStrict(command: string, options: Options, args: string[], allowPositionals = true): { values: Values; positionals: string[] } {
  rejectUnknownFlags(command, args, Object.keys(options));
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new ConfigError(`${command}: ${err instanceof Error ? err.message : String(err)} (see pullsecret-sync ${command} --help)`);
  }
}

/** Parses `args` against `options`; `{help: true}` when the user asked for help anywhere. */
export function parseCommandArgs(command: string, options: Options, args: string[], allowPositionals = true): Parsed {
  if (asksForHelp(args)) return { help: true };
  return { help: false, ...parseStrict(command, options, args, allowPositionals) };
}

/** The option lines of a help text, aligned, `-h, --help` last. */
export function optionLines(commandOptions: Options): string[] {
  const options = { ...commandOptions, help: HELP };
  const heads = Object.entries(options).map(([name, o]) =>
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`);
  const width = Math.max(...heads.map((h) => h.length), 0);
  return Object.values(options).map((o, i) => `  ${(heads[i] ?? '').padEnd(width)}  ${o.help}`);
}

/** A string option given several times (or once), as a list. */
export function strings(value: string | boolean | (string | boolean)[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
