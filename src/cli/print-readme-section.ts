/** `npm run -s cli-readme`: prints the README's CLI section (readme-section.ts) for pasting into README.md. */
import { buildProgram } from './program.js';
import { cliReadmeSection } from './readme-section.js';

const program = buildProgram({ open: () => Promise.reject(new Error('no command runs here')), streams: process });
process.stdout.write(`${cliReadmeSection(program)}\n`);
