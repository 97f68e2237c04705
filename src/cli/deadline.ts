// A deadline for one-shot API calls of the command-line tools: a user at a terminal gets an answer,
// not a hang, when the cluster does not respond.

export const CLI_DEADLINE_MS = 30_000;

export async function withDeadline<T>(work: Promise<T>, what: string, ms = CLI_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: no answer from the API server within ${String(ms / 1000)} s`)); }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
