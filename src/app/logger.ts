/** pino JSON logs. Redaction is a second line of defence: no code logs a secret on purpose. */
import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * `code` is redacted only inside query and body objects (an authorization code); elsewhere `code` is an
 * error code or an exit code, which an operator needs to read.
 */
const REDACT = [
  'password', '*.password', 'client_secret', '*.client_secret', 'token', '*.token',
  'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'id_token', '*.id_token',
  'query.code', '*.query.code', 'body.code', '*.body.code',
  'authorization', '*.authorization', 'cookie', '*.cookie',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'gatehouse' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}
