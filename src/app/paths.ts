/** Where the release keeps its templates and development keys: the repository root, from src/ or dist/src/ alike. */
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));

export const DEFAULT_PATHS = { viewsDir: `${ROOT}views`, keysDir: `${ROOT}keys` };
