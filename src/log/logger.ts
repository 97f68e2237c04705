// JSON logs with pino. Credential-bearing fields are redacted by path as a second line of defence; the
// first is that no code passes credential material to a logger at all.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password', '*.password', 'auth', '*.auth', 'token', '*.token', 'secret', '*.secret', 'data', '*.data',
  'authorization', '*.authorization', 'headers.authorization', 'identitytoken', '*.identitytoken',
  'secretAccessKey', '*.secretAccessKey', 'accessToken', '*.accessToken', 'refreshToken', '*.refreshToken',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { app: 'pullsecret-sync' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination);
}
