// Evaluates the CEL rules (`x-kubernetes-validations`) of the CRD's schema against an object, as the API
// server does on create: each rule runs with `self` bound to the value at its schema node, and a rule that
// is false rejects the object with its message. Evaluated with @marcbachmann/cel-js (a maintained CEL
// implementation with no dependencies). Run after schema-check.ts has found the structure sound: a rule
// may assume the types its schema declares, as on the API server.
import { parse } from '@marcbachmann/cel-js';
import { errorMessage } from '../../util/errors.ts';
import { isRecord } from '../../util/own.ts';
import type { Schema, SchemaIssue } from './schema-check.ts';

interface Rule {
  rule: string;
  message?: string;
  fieldPath?: string;
}

type Program = ReturnType<typeof parse>;

const programs = new Map<string, Program>();

function program(rule: string): Program {
  let p = programs.get(rule);
  if (!p) programs.set(rule, (p = parse(rule)));
  return p;
}

const rulesOf = (schema: Schema): Rule[] => (Array.isArray(schema['x-kubernetes-validations']) ? schema['x-kubernetes-validations'] as Rule[] : []);

function evaluate(rule: Rule, self: unknown, path: string, out: SchemaIssue[]): void {
  const at = rule.fieldPath ? `${path}${rule.fieldPath}` : path;
  try {
    if (program(rule.rule)({ self }) !== true) {
      out.push({ path: at, message: `Invalid value: "${Array.isArray(self) ? 'array' : typeof self}": ${rule.message ?? `failed rule: ${rule.rule}`}` });
    }
  } catch (err) {
    out.push({ path: at, message: `rule could not be evaluated (${rule.rule}): ${errorMessage(err)}`, evaluationError: true });
  }
}

/** Appends a problem for every CEL rule under `schema` that `value` breaks. */
export function checkRules(schema: Schema, value: unknown, path: string, out: SchemaIssue[]): void {
  if (value === null || value === undefined) return;
  for (const rule of rulesOf(schema)) evaluate(rule, value, path, out);
  if (Array.isArray(value) && isRecord(schema.items)) {
    const items = schema.items;
    value.forEach((item, i) => { checkRules(items, item, `${path}[${String(i)}]`, out); });
  } else if (isRecord(value)) {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    for (const [key, child] of Object.entries(value)) {
      const sub = Object.hasOwn(properties, key) ? properties[key] : schema.additionalProperties;
      if (isRecord(sub)) checkRules(sub, child, path ? `${path}.${key}` : key, out);
    }
  }
}
