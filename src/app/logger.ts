/** pino JSON logs. Redaction is a second line of defence: no code logs a secret on purpose. */
import { pino, type Logger, type DestinationStream } from 'pino';

const REDACT = [
  'password', '*.password', 'client_secret', '*.client_secret', 'token', '*.token',
  'access_token', 'refresh_token', 'id_token', 'code', '*.code', 'authorization', '*.authorization', 'cookie', '*.cookie',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'gatehouse' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}
