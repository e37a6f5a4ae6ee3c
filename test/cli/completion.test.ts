/**
 * Issue 22 item 6: `gatehouse completion bash|zsh`, generated from the command tree, run by a real bash:
 * it registers itself (`complete -p`) and completes commands, options and the choices of --output.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliInProcess } from '../helpers/cli-in-process.js';

const run = promisify(execFile);

describe('gatehouse completion', () => {
  let bashScript = '';
  before(async () => {
    const printed = await cliInProcess(undefined, ['completion', 'bash']);
    assert.equal(printed.code, 0, printed.stderr);
    bashScript = printed.stdout;
  });

  /** What bash offers after `gatehouse <words...>` (the last word is the one being completed). */
  async function complete(...words: string[]): Promise<string[]> {
    const line = ['gatehouse', ...words];
    const program = `${bashScript}
complete -p gatehouse
COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}
_gatehouse_completion
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program]);
    const [registration, ...offered] = stdout.trim().split('\n');
    assert.equal(registration, 'complete -F _gatehouse_completion gatehouse');
    return offered.filter(Boolean);
  }

  it('completes the command groups, then their commands, then a command’s options', async () => {
    assert.deepEqual(await complete(''), ['users', 'clients', 'resources', 'roles', 'keys', 'audit', 'webhooks', 'federation', 'tenants', 'completion', 'help', '--tenant', '--help']);
    assert.deepEqual(await complete('cl'), ['clients']);
    assert.deepEqual(await complete('clients', ''), ['create', 'list', 'update', 'delete', 'rotate-secret', 'set-scope', 'initial-token', '--help']);
    assert.deepEqual(await complete('clients', 'initial-token', 'create', '--'), ['--ttl', '--output', '--help']);
    assert.deepEqual(await complete('users', 'create', '--email', 'a@example.test', '--p'), ['--password']);
  });

  it('completes the choices of --output and of the shell', async () => {
    assert.deepEqual(await complete('keys', 'list', '--output', ''), ['table', 'json', 'ndjson']);
    assert.deepEqual(await complete('keys', 'list', '-o', 'n'), ['ndjson']);
    assert.deepEqual(await complete('completion', ''), ['bash', 'zsh']);
  });

  it('zsh gets the same function through bashcompinit', async () => {
    const zsh = await cliInProcess(undefined, ['completion', 'zsh']);
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^autoload -U \+X bashcompinit && bashcompinit$/m);
    assert.ok(zsh.stdout.endsWith(bashScript.slice(bashScript.indexOf('\n') + 1)));
    // zsh is not installed here; bash at least parses what zsh will run
    await run('bash', ['-n', '-c', zsh.stdout]);
  });
});
