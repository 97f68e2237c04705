// Builders of OpenAPI v3 schema fragments, as the CRD's structural schema uses them. Plain data: the
// API's schema (api/v1alpha1/schema.ts) and each credential provider's source schema are built with these.

export type Schema = Record<string, unknown>;

export const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
export const nonEmpty = (extra: Schema = {}): Schema => str({ minLength: 1, ...extra });
export const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
export const list = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
export const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object', ...(required.length ? { required } : {}), properties, ...extra,
});
