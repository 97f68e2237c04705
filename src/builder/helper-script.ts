// The Docker credential helper (scripts/docker-credential-pullsecret-sync) that the builder front serves at
// GET /v1/credential-helper, read from the one copy shipped in the repository so the served script and the
// shipped script never differ. Looked up next to the sources (running from src/) and next to the build
// output (running from dist/src/).
import { readFileSync } from 'node:fs';

export const HELPER_NAME = 'docker-credential-pullsecret-sync';

const CANDIDATES = [`../../scripts/${HELPER_NAME}`, `../../../scripts/${HELPER_NAME}`];

/** The helper script's text, or undefined when no copy is found. */
export function readHelperScript(): string | undefined {
  for (const relative of CANDIDATES) {
    try {
      return readFileSync(new URL(relative, import.meta.url), 'utf8');
    } catch {
      /* try the next location */
    }
  }
  return undefined;
}
