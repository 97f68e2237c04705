// How `plan` prints: a table for people, JSON (the documented, stable contract) and YAML for tools.
import { stringify } from 'yaml';
import type { Plan, PlanResource } from './model.ts';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

function section(title: string, lines: string[]): string[] {
  return lines.length ? [`  ${title}:`, ...lines.map((l) => `    ${l}`)] : [];
}

/** The table lists this many pods; -o json and -o yaml list every one. */
const SHOWN_PODS = 20;

function podLines(r: PlanResource): string[] {
  const lines = r.pods.slice(0, SHOWN_PODS).map((p) => `${p.namespace}/${p.name}`);
  const more = r.pods.length - SHOWN_PODS;
  return more > 0 ? [...lines, `… and ${String(more)} more (-o json lists them all)`] : lines;
}

function resourceTable(r: PlanResource): string[] {
  const width = Math.max(0, ...r.namespaces.map((n) => n.name.length));
  return [
    `ImagePullSecret/${r.name}: ${r.valid ? 'valid' : 'INVALID (the daemon would write nothing for it)'}`,
    ...section('errors', r.errors),
    ...section('namespaces', r.namespaces.map((n) =>
      `${n.action.padEnd(9)} ${n.name.padEnd(width)}  by ${n.rules.join(', ')}${n.conflictWith ? `; held by ${n.conflictWith}` : ''}`)),
    ...section('removals', r.removals.map((x) => `delete    ${x.namespace}/${x.secret}`)),
    ...section('registries', r.registries.map((x) =>
      `${x.registry}  from ${x.source}${x.shadowed.length ? `  (shadows ${x.shadowed.join(', ')})` : ''}`)),
    ...section('serviceAccounts', r.serviceAccounts.map((x) => `${x.change.padEnd(9)} ${x.namespace}/${x.name}`)),
    ...section('pods lacking the entry (admission adds it when they are created again)', podLines(r)),
    ...section('source problems', r.sourceProblems),
    ...(r.valid && r.registries.length === 0 ? ['  nothing to write: no source gives any registry credentials'] : []),
  ];
}

export function render(plan: Plan, format: Format): string {
  switch (format) {
    case 'json': return `${JSON.stringify(plan, null, 2)}\n`;
    case 'yaml': return stringify(plan, { lineWidth: 0 });
    case 'table': return plan.resources.length
      ? `${plan.resources.map((r) => resourceTable(r).join('\n')).join('\n\n')}\n`
      : 'No ImagePullSecrets.\n';
  }
}
