// Reads the files named on a command line (`-` is stdin) as multi-document YAML (JSON is YAML too) and
// flattens `kind: List` documents (what `kubectl get -o yaml` prints) into their items.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { errorMessage } from '../util/errors.ts';
import { isRecord } from '../util/own.ts';

export interface Document {
  /** The file as the user named it; `<stdin>` for `-`. */
  file: string;
  object: Record<string, unknown>;
}

export interface ReadResult {
  documents: Document[];
  /** `FILE: message` lines for files that could not be read or parsed. */
  problems: string[];
}

export const STDIN_NAME = '<stdin>';

/** The text of `file`, or of stdin for `-`. */
export async function readText(file: string, stdin: Readable): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}


/** The objects of one parsed document: itself, or the items of a List. */
function objectsOf(value: unknown): Record<string, unknown>[] {
  if (!isRecord(value)) return [];
  const kind = typeof value.kind === 'string' ? value.kind : '';
  if (kind.endsWith('List') && Array.isArray(value.items)) return value.items.filter(isRecord);
  return [value];
}

/** Parses the text of one file into documents and problems. */
export function parseDocuments(file: string, text: string): ReadResult {
  const out: ReadResult = { documents: [], problems: [] };
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      out.problems.push(`${file}: ${doc.errors.map((e) => e.message.split('\n')[0] ?? '').join('; ')}`);
      continue;
    }
    for (const object of objectsOf(doc.toJS())) out.documents.push({ file, object });
  }
  return out;
}

export async function readDocuments(files: readonly string[], stdin: Readable): Promise<ReadResult> {
  const out: ReadResult = { documents: [], problems: [] };
  for (const file of files) {
    let text: string;
    try {
      text = await readText(file, stdin);
    } catch (err) {
      out.problems.push(`${file}: ${errorMessage(err)}`);
      continue;
    }
    const parsed = parseDocuments(file === '-' ? STDIN_NAME : file, text);
    out.documents.push(...parsed.documents);
    out.problems.push(...parsed.problems);
  }
  return out;
}
