// Checks an object against the CRD's structural OpenAPI v3 schema the way the API server does on create
// with strict field validation (what kubectl apply uses): types, required fields, enums, patterns,
// lengths, item counts, date-time formats, and unknown fields. The CEL rules of the schema are checked
// by cel-rules.ts. Only the keywords a structural schema may use are implemented; the schema of this
// CRD uses a subset of them (a unit test walks it and fails on any keyword this file does not know).
import { isRecord } from '../../util/own.ts';

export type Schema = Record<string, unknown>;

export interface SchemaIssue {
  path: string;
  message: string;
  /** A CEL rule that failed to evaluate (rather than evaluated to false). */
  evaluationError?: true;
}

/** Keywords this checker implements or that carry no constraint on create. */
export const KNOWN_KEYWORDS = new Set([
  'type', 'properties', 'required', 'items', 'additionalProperties', 'enum', 'pattern', 'minLength', 'maxLength',
  'minItems', 'maxItems', 'format', 'description', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields',
]);

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(want: unknown, value: unknown): boolean {
  const have = typeOf(value);
  return want === undefined || want === have || (want === 'number' && have === 'integer');
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const quoted = (v: unknown) => JSON.stringify(v);

/** Length in Unicode code points, as the API server (Go's rune count) measures minLength and maxLength. */
const codePoints = (s: string): number => Array.from(s).length;

function checkString(schema: Schema, value: string, path: string, out: SchemaIssue[]): void {
  const { minLength, maxLength, pattern, format } = schema;
  if (typeof minLength === 'number' && codePoints(value) < minLength) {
    out.push({ path, message: `Invalid value: ${quoted(value)}: should be at least ${minLength} chars long` });
  }
  if (typeof maxLength === 'number' && codePoints(value) > maxLength) {
    out.push({ path, message: `Too long: may not be more than ${maxLength} bytes` });
  }
  if (typeof pattern === 'string' && !new RegExp(pattern, 'u').test(value)) {
    out.push({ path, message: `Invalid value: ${quoted(value)}: should match '${pattern}'` });
  }
  if (format === 'date-time' && !DATE_TIME.test(value)) {
    out.push({ path, message: `Invalid value: ${quoted(value)}: must be a date-time (RFC 3339)` });
  }
}

function checkArray(schema: Schema, value: unknown[], path: string, out: SchemaIssue[]): void {
  const { minItems, maxItems, items } = schema;
  if (typeof minItems === 'number' && value.length < minItems) out.push({ path, message: `Invalid value: ${value.length}: should have at least ${minItems} items` });
  if (typeof maxItems === 'number' && value.length > maxItems) out.push({ path, message: `Too many: ${value.length}: must have at most ${maxItems} items` });
  if (isRecord(items)) value.forEach((item, i) => { checkSchema(items, item, `${path}[${String(i)}]`, out); });
}

function checkObject(schema: Schema, value: Record<string, unknown>, path: string, out: SchemaIssue[]): void {
  const properties = isRecord(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  for (const field of Array.isArray(schema.required) ? schema.required : []) {
    if (typeof field === 'string' && !Object.hasOwn(value, field)) out.push({ path: join(path, field), message: 'Required value' });
  }
  for (const [key, child] of Object.entries(value)) {
    const sub = properties && Object.hasOwn(properties, key) ? properties[key] : additional;
    if (isRecord(sub)) checkSchema(sub, child, properties && Object.hasOwn(properties, key) ? join(path, key) : `${path}[${quoted(key)}]`, out);
    else if (properties && schema['x-kubernetes-preserve-unknown-fields'] !== true) out.push({ path: join(path, key), message: 'unknown field' });
  }
}

/** Appends every structural problem of `value` under `schema` to `out`. */
export function checkSchema(schema: Schema, value: unknown, path: string, out: SchemaIssue[]): void {
  if (value === null) return; // the API server drops null fields of a structural schema before validating
  if (!typeMatches(schema.type, value)) {
    out.push({ path, message: `Invalid value: ${quoted(typeOf(value))}: must be of type ${String(schema.type)}` });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    out.push({ path, message: `Unsupported value: ${quoted(value)}: supported values: ${schema.enum.map(quoted).join(', ')}` });
  }
  if (typeof value === 'string') checkString(schema, value, path, out);
  else if (Array.isArray(value)) checkArray(schema, value, path, out);
  else if (isRecord(value)) checkObject(schema, value, path, out);
}
