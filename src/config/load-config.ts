/**
 * Reads settings from the environment (and an optional JSON file), validates each against `schema.ts`
 * and refuses insecure production settings. A bad value is one `ConfigError` naming the setting, the
 * value given (never for secrets) and what is accepted; main.ts prints it and exits with code 1.
 */
import { readFileSync } from 'node:fs';
import { settings, DEV_COOKIE_KEY, type Config, type SettingName } from './schema.js';
import { SettingValueError } from './parsers.js';

export class ConfigError extends Error {}

type Source = Record<string, string | undefined>;

export function loadConfig(env: Source = process.env): Config {
  const fromFile = readConfigFile(env.CONFIG_FILE);
  const config: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(settings) as SettingName[]) {
    const spec = settings[name];
    let raw = env[name] ?? fromFile[name] ?? spec.default;
    if (raw === '' && spec.derive) raw = spec.derive.value(config);
    try {
      config[name] = spec.parser.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      const shown = 'secret' in spec && spec.secret ? '(hidden)' : JSON.stringify(raw);
      throw new ConfigError(`${name}: got ${shown}; expected ${err.accepted}`);
    }
  }
  const result = config as Config;
  result.ISSUER = result.ISSUER.replace(/\/+$/, '');
  checkProduction(result);
  return result;
}

function readConfigFile(path: string | undefined): Source {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${JSON.stringify(path)} as JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`CONFIG_FILE: ${JSON.stringify(path)} must hold a JSON object of settings`);
  }
  const out: Source = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in settings)) {
      throw new ConfigError(`CONFIG_FILE: unknown setting ${JSON.stringify(key)} in ${JSON.stringify(path)}; expected one of ${Object.keys(settings).join(', ')}`);
    }
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** Production refuses settings that are only safe on a laptop, unless ALLOW_INSECURE says otherwise. */
function checkProduction(c: Config): void {
  if (c.NODE_ENV !== 'production') return;
  if (c.KEY_ENCRYPTION_KEYS.length === 0) {
    throw new ConfigError('KEY_ENCRYPTION_KEYS: required in production; expected ' + settings.KEY_ENCRYPTION_KEYS.parser.accepted);
  }
  if (c.ALLOW_INSECURE) return;
  if (!c.ISSUER.startsWith('https://')) {
    throw new ConfigError(`ISSUER: got ${JSON.stringify(c.ISSUER)}; expected an https URL in production (or ALLOW_INSECURE=true)`);
  }
  if (c.COOKIE_KEYS.includes(DEV_COOKIE_KEY)) {
    throw new ConfigError('COOKIE_KEYS: the development default is refused in production; expected your own secrets of at least 32 characters');
  }
}
