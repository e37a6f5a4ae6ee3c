// Validates rendered manifests (stdin, "---"-separated) against the Kubernetes OpenAPI schemas shipped in
// the npm packages kubernetes-models and @kubernetes-models/prometheus-operator (offline). Their schemas
// check types, required fields and enums, not unknown keys. Prints one line per object; exit 1 on any error.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const groups = { v1: 'v1', 'apps/v1': 'apps/v1', 'policy/v1': 'policy/v1', 'autoscaling/v2': 'autoscaling/v2', 'networking.k8s.io/v1': 'networking.k8s.io/v1' };
const input = readFileSync(0, 'utf8').split('\n# NOTES\n')[0];
let failed = 0;
let count = 0;
for (const doc of parseAllDocuments(input)) {
  if (doc.errors.length) { console.log(`YAML error: ${doc.errors[0].message}`); failed++; continue; }
  const obj = doc.toJS();
  if (!obj) continue;
  count++;
  const { apiVersion, kind } = obj;
  const mod = apiVersion === 'monitoring.coreos.com/v1'
    ? `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`
    : groups[apiVersion] && `kubernetes-models/${groups[apiVersion]}/${kind}`;
  if (!mod) { console.log(`unknown apiVersion ${apiVersion} ${kind}`); failed++; continue; }
  try {
    const Model = (await import(mod))[kind];
    new Model(obj).validate();
    console.log(`ok   ${apiVersion} ${kind} ${obj.metadata?.name}`);
  } catch (err) {
    console.log(`FAIL ${apiVersion} ${kind} ${obj.metadata?.name}: ${err.message}`);
    failed++;
  }
}
if (count === 0) { console.log('no objects rendered'); failed++; }
process.exit(failed ? 1 : 0);
