// Error helpers shared by every layer.

/** The message of anything thrown, without assuming it is an Error. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** The message, after the error's class name when it has its own (`AuthenticationError: …`). */
export function namedErrorMessage(err: unknown): string {
  const name = err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : '';
  return name + errorMessage(err);
}

const REDACTED = '[redacted]';
/** Values shorter than this are not scrubbed: replacing single characters would garble every message. */
const MIN_SCRUB_LENGTH = 4;

/** `message` with every occurrence of each of `values` (at least 4 characters long) replaced. */
export function scrub(message: string, values: Iterable<string | undefined>): string {
  const sorted = [...new Set(values)]
    .filter((v): v is string => v !== undefined && v.length >= MIN_SCRUB_LENGTH)
    .sort((a, b) => b.length - a.length); // longest first, so a value containing another goes whole
  let out = message;
  for (const value of sorted) out = out.split(value).join(REDACTED);
  return out;
}
