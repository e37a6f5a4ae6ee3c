/**
 * The Dockerfile and the Helm chart, checked as far as this machine allows (no container engine, no
 * Kubernetes): `.ci/check-image-start` runs the image's CMD from a clean production build assembled from
 * the Dockerfile's own steps, `.ci/check-chart` renders the chart and validates every object against the
 * Kubernetes schemas. Each script prints `<name>: N passed, 0 failed` and exits 0 only when all passed.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawnLogged } from '../helpers/services/process-handle.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

for (const [script, what, minutes] of [
  ['check-image-start', 'the image starts as the Dockerfile writes it (committed tree)', 8],
  ['check-chart', 'the Helm chart renders to valid Kubernetes objects and refuses bad values', 4],
] as const) {
  describe(`.ci/${script}`, function () {
    this.timeout(minutes * 60_000);
    it(what, async () => {
      const run = spawnLogged('bash', [`.ci/${script}`], { cwd: ROOT, env: process.env });
      const status = await run.exited;
      await run.closed;
      assert.equal(status.code, 0, run.log());
      assert.match(run.log(), new RegExp(`${script}: [1-9]\\d* passed, 0 failed`));
    });
  });
}
