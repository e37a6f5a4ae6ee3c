/**
 * Issue 22 items 1 and 3: every command explains itself (`--help`, `gatehouse help <command>`), and an unknown
 * command or option names the closest match and exits 2, without opening the store.
 */
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/program.js';
import { commandPath, leaves, type CliCommand } from '../../src/cli/command-tree.js';
import { cliInProcess } from '../helpers/cli-in-process.js';
import { runCli as spawnCli } from '../helpers/run-cli.js';

const program = buildProgram({ open: () => Promise.reject(new Error('unused')), streams: process });
const commands = leaves(program).filter((c) => c.name() !== 'help') as CliCommand[];
const argvOf = (cmd: CliCommand) => commandPath(cmd).split(' ').slice(1);

describe('gatehouse --help and usage errors', () => {
  it('gatehouse --help lists every command group and the exit codes', async () => {
    const run = await cliInProcess(undefined, ['--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const group of ['users', 'clients', 'resources', 'keys', 'audit', 'completion']) assert.match(run.stdout, new RegExp(`^  ${group}\\b`, 'm'));
    assert.match(run.stdout, /Exit codes:\n {2}0 {2}success[^]*\n {2}4 {2}conflict/);
  });

  it('gatehouse with no command prints the help on stderr and exits 2', async () => {
    const run = await cliInProcess(undefined, []);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^Usage: gatehouse /);
  });

  it('the real binary answers --help too (exit 0, nothing on stderr but the runtime line)', async () => {
    const run = await spawnCli({}, '--help');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: gatehouse /);
    assert.deepEqual(run.lines, []);
  });

  for (const cmd of commands) {
    const argv = argvOf(cmd);
    describe(commandPath(cmd), () => {
      it('--help: its purpose, every option with its placeholder and default, and an example', async () => {
        const run = await cliInProcess(undefined, [...argv, '--help']);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(run.stdout.startsWith(`Usage: ${commandPath(cmd)} `), run.stdout);
        assert.ok(run.stdout.replace(/\s+/g, ' ').includes(cmd.description().replace(/\s+/g, ' ')), 'its purpose');
        for (const option of cmd.options) {
          assert.ok(run.stdout.includes(option.flags), `names ${option.flags}`);
          if (option.defaultValueDescription) assert.ok(run.stdout.includes(`(default: ${option.defaultValueDescription})`), `the default of ${option.long}`);
        }
        assert.ok(cmd.example.startsWith('gatehouse ') || cmd.example.includes(' gatehouse ') || cmd.example.includes('<(gatehouse '), 'an example');
        assert.ok(run.stdout.includes(`Example:\n  $ ${cmd.example}\n`));
        const viaHelp = await cliInProcess(undefined, ['help', ...argv]);
        assert.equal(viaHelp.code, 0);
        assert.equal(viaHelp.stdout, run.stdout, 'gatehouse help <command> prints the same');
      });

      it('an unknown option: exit 2, the closest match, nothing on stdout, the store not opened', async () => {
        const option = cmd.options.find((o) => o.long && o.long !== '--help')?.long ?? '--help';
        const typo = `${option.slice(0, -1)}${option.at(-1) === 'x' ? 'y' : 'x'}`;
        const run = await cliInProcess(undefined, [...argv, typo]);
        assert.equal(run.code, 2, run.stderr);
        assert.equal(run.stdout, '');
        assert.equal(run.stderr, `gatehouse: unknown option '${typo}'\n(Did you mean ${option}?)\n`);
      });
    });
  }

  it('an unknown command names the closest one (exit 2), at every level', async () => {
    const top = await cliInProcess(undefined, ['cliens', 'list']);
    assert.equal(top.code, 2);
    assert.equal(top.stderr, "gatehouse: unknown command 'cliens'\n(Did you mean clients?)\n");
    const nested = await cliInProcess(undefined, ['keys', 'rotat']);
    assert.equal(nested.code, 2);
    assert.equal(nested.stderr, "gatehouse: unknown command 'rotat'\n(Did you mean rotate?)\n");
    const viaHelp = await cliInProcess(undefined, ['help', 'users', 'creat']);
    assert.equal(viaHelp.code, 2);
    assert.match(viaHelp.stderr, /^gatehouse: gatehouse users has no command "creat"/);
  });

  it('a missing mandatory option or a bad value is a usage error (exit 2) before the store is opened', async () => {
    for (const argv of [['users', 'create', '--email', 'a@example.test'], ['audit', '--limit', '0'], ['clients', 'list', '--output', 'yaml'], ['keys', 'revoke'], ['completion', 'fish']]) {
      const run = await cliInProcess(undefined, argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /^gatehouse: /);
      assert.equal(run.stdout, '');
    }
  });
});
