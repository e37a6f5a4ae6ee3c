#!/usr/bin/env node
/**
 * gatehouse: the operator's command line (the package's bin). It works on the same DATABASE_URL and settings
 * as the server. The commands are defined in src/cli/ (one file per group); `gatehouse --help` lists them.
 */
import { runCli } from './cli/run.js';

runCli(process.argv.slice(2)).then((code) => process.exit(code));
