// Every check an ImagePullSecret passes before the daemon acts on it: what the API server enforces for
// the CRD (object name, structural schema, CEL rules) and then the daemon's semantic validation (what it
// would report as InvalidSpec in status). Shared by `validate` and `plan`. Pure.
import { openApiSchema } from './schema.ts';
import { API_VERSION, KIND, type ImagePullSecretSpec } from './types.ts';
import { isDnsSubdomain, validateSpec } from './validation.ts';
import { checkRules } from './cel-rules.ts';
import { checkSchema, type SchemaIssue } from './schema-check.ts';
import { isRecord } from '../../util/own.ts';

export interface ResourceProblem extends SchemaIssue {
  /** `api`: the API server rejects the object; `semantic`: it accepts it, the daemon reports InvalidSpec. */
  layer: 'api' | 'semantic';
}


/** True for documents `validate` checks: kind ImagePullSecret of any API group. */
export const isImagePullSecret = (obj: Record<string, unknown>): boolean => obj.kind === KIND;

export function nameOf(obj: Record<string, unknown>): string {
  const name = isRecord(obj.metadata) ? obj.metadata.name : undefined;
  return typeof name === 'string' && name !== '' ? name : '(unnamed)';
}

function metadataProblems(obj: Record<string, unknown>): SchemaIssue[] {
  const name = isRecord(obj.metadata) ? obj.metadata.name : undefined;
  if (typeof name !== 'string' || name === '') return [{ path: 'metadata.name', message: 'Required value: name is required' }];
  if (!isDnsSubdomain(name)) return [{ path: 'metadata.name', message: `Invalid value: "${name}": must be a lowercase RFC 1123 subdomain` }];
  return [];
}

/** Every problem of one ImagePullSecret document, API-server checks first. */
export function checkResource(obj: Record<string, unknown>): ResourceProblem[] {
  if (obj.apiVersion !== API_VERSION) {
    const hint = obj.apiVersion === 'images.banzaicloud.io/v1alpha1' ? ' (an IMPS resource: convert it with pullsecret-sync migrate)' : '';
    return [{ layer: 'api', path: 'apiVersion', message: `Unsupported value: ${JSON.stringify(obj.apiVersion)}: expected "${API_VERSION}"${hint}` }];
  }
  // With a status subresource the API server drops status on create; so does this check.
  const { status: _status, ...created } = obj;
  const api: SchemaIssue[] = [...metadataProblems(created)];
  checkSchema(openApiSchema, created, '', api);
  // Rules run over a structurally broken object too, to report everything at once; a rule that cannot
  // evaluate there (a wrong type under it) adds nothing the schema problem did not already say.
  const rules: SchemaIssue[] = [];
  checkRules(openApiSchema, created, '', rules);
  api.push(...(api.length ? rules.filter((r) => !r.evaluationError) : rules));
  if (api.length) return api.map(({ path, message }) => ({ layer: "api", path, message }));
  return validateSpec(obj.spec as ImagePullSecretSpec).map((p) => ({ ...p, layer: 'semantic' }));
}
