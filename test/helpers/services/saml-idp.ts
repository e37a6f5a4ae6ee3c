import { access, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir, runCommand, spawnLogged, terminate, waitForPort } from './process-handle.js';

/**
 * A real SAML 2.0 IdP for tests: Debian's SimpleSAMLphp 1.19 served by `php -S` on
 * 127.0.0.1:<free port>, configured entirely inside a throw-away temp dir
 * (SIMPLESAMLPHP_CONFIG_DIR), with a freshly generated self-signed signing key.
 *
 * Endpoints (relative to baseUrl = http://127.0.0.1:<port>):
 *   /saml2/idp/metadata.php            IdP metadata (also the IdP entityID)
 *   /saml2/idp/SSOService.php          SSO, HTTP-Redirect and HTTP-POST bindings
 *   /saml2/idp/SingleLogoutService.php SLO, HTTP-Redirect and HTTP-POST bindings
 *   /module.php/core/loginuserpass.php login form (fields: username, password, AuthState)
 *
 * Requires the Debian packages simplesamlphp, php8.2-cli, php8.2-xml (ext-dom!) and openssl.
 */

export interface SamlIdpUser {
  username: string;
  password: string;
  /** Multi-valued attributes. `uid` defaults to [username] (it seeds the persistent NameID). */
  attributes: Record<string, string[]>;
}

export interface SamlIdpOptions {
  spEntityId: string;
  /** Default AssertionConsumerService (HTTP-POST binding, index 0). */
  acsUrl: string;
  /** Further HTTP-POST ACS URLs the SP may ask for by AssertionConsumerServiceURL/Index (indexes 1..n). */
  extraAcsUrls?: string[];
  /** SP SingleLogoutService (registered for HTTP-Redirect and HTTP-POST). */
  sloUrl?: string;
  /** SP certificate (PEM): lets the IdP verify signed AuthnRequest/LogoutRequest and encrypt if asked. */
  spCertPem?: string;
  /** Encrypt the assertion for the SP with spCertPem (`assertion.encryption`). Default false. */
  encryptAssertions?: boolean;
  /** Reject unsigned AuthnRequests / LogoutRequests (needs spCertPem). Default false. */
  requireSignedRequests?: boolean;
  /**
   * NameID used when the AuthnRequest has no NameIDPolicy/@Format (an explicit policy for the
   * other format is honoured). persistent = opaque sha1 of (IdP, SP, uid, per-instance random salt), so stable only
   * within one running instance; emailAddress = the
   * user's single `email` value; transient = a new random value at every sign-in. Default 'persistent'.
   */
  nameIdFormat?: 'persistent' | 'emailAddress' | 'transient';
  users: SamlIdpUser[];
}

export interface SamlIdp {
  /** http://127.0.0.1:<port>, no trailing slash. */
  baseUrl: string;
  entityId: string;
  /** EntityDescriptor as served by the running IdP. */
  metadataXml: string;
  metadataUrl: string;
  /** SSO endpoint; the same URL serves HTTP-Redirect (GET) and HTTP-POST. */
  ssoRedirectUrl: string;
  ssoPostUrl: string;
  sloUrl: string;
  /** The UserPass login page SSO redirects to (form fields: username, password, AuthState). */
  loginUrl: string;
  signingCertPem: string;
  /** The IdP's session cookies: PHP session + auth token (suffixed with the port: browsers do not scope cookies by port). */
  sessionCookieNames: string[];
  /** php -S console output plus SimpleSAMLphp's own log file, for failure messages. */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

const SIMPLESAMLPHP_DIR = process.env.SIMPLESAMLPHP_DIR ?? '/usr/share/simplesamlphp';
const PHP = process.env.PHP_BINARY ?? 'php';
const TEMPLATE_DIR = fileURLToPath(new URL('../../fixtures/saml-idp/', import.meta.url));
const TEMPLATES = [
  '_settings.php',
  'config.php',
  'authsources.php',
  'metadata/saml20-idp-hosted.php',
  'metadata/saml20-sp-remote.php',
];
const PORT_ATTEMPTS = 3;

export async function startSamlIdp(opts: SamlIdpOptions): Promise<SamlIdp> {
  validate(opts);
  await preflight();
  let lastError: unknown;
  // freePort() can race with another process grabbing the port before php binds it; retry that case only.
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt += 1) {
    try {
      return await launch(opts);
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error) || !/Address already in use/i.test(error.message)) throw error;
    }
  }
  throw lastError;
}

async function launch(opts: SamlIdpOptions): Promise<SamlIdp> {
  const dir = await makeTempDir('saml-idp');
  const sspLogFile = join(dir, 'log', 'simplesamlphp.log');
  const readSspLog = (): Promise<string> => readFile(sspLogFile, 'utf8').catch(() => '(no SimpleSAMLphp log written)');
  let started = false;
  try {
    const configDir = join(dir, 'config');
    const certDir = join(dir, 'cert');
    for (const sub of ['config/metadata', 'cert', 'log', 'data', 'tmp', 'sessions']) {
      await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    for (const file of TEMPLATES) await copyFile(join(TEMPLATE_DIR, file), join(configDir, file));

    await runCommand('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', '/CN=Gatehouse test SAML IdP',
      '-keyout', join(certDir, 'idp.key'),
      '-out', join(certDir, 'idp.crt'),
    ]);
    const signingCertPem = await readFile(join(certDir, 'idp.crt'), 'utf8');

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const entityId = `${baseUrl}/saml2/idp/metadata.php`;
    const settings = {
      baseUrl,
      idpEntityId: entityId,
      certDir,
      logDir: join(dir, 'log'),
      dataDir: join(dir, 'data'),
      tmpDir: join(dir, 'tmp'),
      sessionDir: join(dir, 'sessions'),
      cookieSuffix: String(port),
      secretSalt: randomBytes(24).toString('hex'),
      adminPassword: randomBytes(12).toString('hex'),
      users: opts.users.map((u) => ({
        username: u.username,
        password: u.password,
        attributes: { uid: [u.username], ...u.attributes },
      })),
      sp: {
        entityId: opts.spEntityId,
        acsUrls: [opts.acsUrl, ...(opts.extraAcsUrls ?? [])],
        sloUrl: opts.sloUrl ?? null,
        certData: opts.spCertPem ? pemBody(opts.spCertPem) : null,
        nameIdFormat: { emailAddress: NAMEID_EMAIL, transient: NAMEID_TRANSIENT, persistent: NAMEID_PERSISTENT }[opts.nameIdFormat ?? 'persistent'],
        validateAuthnRequest: opts.requireSignedRequests === true,
        validateLogout: opts.requireSignedRequests === true,
        encryptAssertions: opts.encryptAssertions === true,
      },
    };
    await writeFile(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2), { mode: 0o600 });

    const env: NodeJS.ProcessEnv = { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: configDir };
    // Workers would fork children that outlive a SIGTERM to the parent; keep one process.
    delete env.PHP_CLI_SERVER_WORKERS;
    const args = [
      '-d', 'display_errors=0', // PHP notices must never leak into HTML/XML responses
      '-d', 'log_errors=1', // ... they go to stderr (the php -S console), which we keep
      '-d', 'error_log=',
      '-S', `127.0.0.1:${port}`,
      '-t', join(SIMPLESAMLPHP_DIR, 'www'),
    ];
    const metadataUrl = `${baseUrl}/saml2/idp/metadata.php`;
    let metadataXml = '';
    // php -S answers only once it is listening, so any HTTP answer other than metadata is a real
    // (configuration) error: fail at once with the body instead of polling until the timeout.
    const probe = async (): Promise<boolean> => {
      let res: Response;
      try {
        res = await fetch(metadataUrl, { signal: AbortSignal.timeout(5000) });
      } catch {
        return false; // not listening yet
      }
      const body = await res.text();
      if (res.status !== 200 || !body.includes('EntityDescriptor')) {
        throw new Error(`GET ${metadataUrl} answered ${res.status}:\n${body.slice(0, 4000)}`);
      }
      metadataXml = body;
      return true;
    };

    const proc = spawnLogged(PHP, args, { cwd: dir, env });
    try {
      await waitForPort(proc, port, { probe, timeoutMs: 20_000 });
    } catch (error) {
      await terminate(proc);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `SimpleSAMLphp IdP failed to start: ${message}\n--- php -S console ---\n${proc.log()}\n--- SimpleSAMLphp log ---\n${await readSspLog()}`,
      );
    }
    started = true;
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await terminate(proc);
      await removeDir(dir);
    };

    return {
      baseUrl,
      entityId,
      metadataXml,
      metadataUrl,
      ssoRedirectUrl: `${baseUrl}/saml2/idp/SSOService.php`,
      ssoPostUrl: `${baseUrl}/saml2/idp/SSOService.php`,
      sloUrl: `${baseUrl}/saml2/idp/SingleLogoutService.php`,
      loginUrl: `${baseUrl}/module.php/core/loginuserpass.php`,
      signingCertPem,
      sessionCookieNames: ['SimpleSAML', 'SimpleSAMLAuthToken'].map((n) => `${n}${port}`),
      logs: async () => `--- php -S console ---\n${proc.log()}\n--- SimpleSAMLphp log ---\n${await readSspLog()}`,
      stop,
    };
  } finally {
    // Once the server is up, stop() owns the dir; until then a failure must clean it up here.
    if (!started) await removeDir(dir);
  }
}

function validate(opts: SamlIdpOptions): void {
  if (!opts.spEntityId) throw new Error('startSamlIdp: spEntityId is required');
  if (!opts.acsUrl) throw new Error('startSamlIdp: acsUrl is required');
  if (opts.requireSignedRequests && !opts.spCertPem) {
    throw new Error('startSamlIdp: requireSignedRequests needs spCertPem');
  }
  if (opts.encryptAssertions && !opts.spCertPem) throw new Error('startSamlIdp: encryptAssertions needs spCertPem');
  if (opts.nameIdFormat === 'emailAddress') {
    for (const u of opts.users) {
      if (u.attributes.email?.length !== 1) {
        throw new Error(`startSamlIdp: emailAddress NameID needs exactly one email for user ${u.username}`);
      }
    }
  }
  for (const u of opts.users) {
    // exampleauth:UserPass keys users as "<username>:<password>", split at the first ':'.
    if (!u.username || u.username.includes(':')) {
      throw new Error(`startSamlIdp: username must be non-empty and contain no ':' (${JSON.stringify(u.username)})`);
    }
    for (const [name, values] of Object.entries(u.attributes)) {
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw new Error(`startSamlIdp: attribute ${name} of ${u.username} must be a string[]`);
      }
    }
  }
}

/** Fail with an actionable message instead of a PHP fatal error deep inside SimpleSAMLphp. */
async function preflight(): Promise<void> {
  const include = join(SIMPLESAMLPHP_DIR, 'www', '_include.php');
  if (!(await access(include).then(() => true, () => false))) {
    throw new Error(`SimpleSAMLphp not found at ${SIMPLESAMLPHP_DIR} (apt-get install simplesamlphp, or set SIMPLESAMLPHP_DIR)`);
  }
  const missing = (
    await runCommand(PHP, ['-r', 'foreach (["dom","openssl","session","zlib","SimpleXML"] as $e) if (!extension_loaded($e)) echo $e, " ";'])
  ).trim();
  if (missing) {
    throw new Error(`PHP is missing extension(s) SimpleSAMLphp needs: ${missing} (apt-get install php8.2-xml provides dom/SimpleXML)`);
  }
}

function pemBody(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!match?.[1]) throw new Error('startSamlIdp: spCertPem is not a PEM certificate');
  return match[1].replace(/\s+/g, '');
}
