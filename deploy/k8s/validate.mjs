// Validate Kubernetes objects offline against Kubernetes' own OpenAPI
// schemas, as compiled into the npm package kubernetes-models (no cluster).
// Input: a JSON array of objects on stdin (deploy/k8s/validate.sh makes it
// from `kubectl kustomize`). Output: one line per object; exit 1 when one
// is invalid or of a kind the package does not know.
import { readFileSync } from "node:fs";

const objs = JSON.parse(readFileSync(0, "utf8"));
let bad = 0;
for (const o of objs) {
  const what = `${o.kind}/${o.metadata?.name}`;
  const [group, version] = o.apiVersion.includes("/")
    ? o.apiVersion.split("/")
    : [null, o.apiVersion];
  const path = group ? `${group}/${version}` : version;
  let cls;
  try {
    cls = (await import(`kubernetes-models/${path}/${o.kind}`))[o.kind];
  } catch (e) {
    console.log(`unknown ${what}: no schema for ${o.apiVersion} ${o.kind}`);
    bad++;
    continue;
  }
  try {
    new cls(o).validate();
    console.log(`valid ${what}`);
  } catch (e) {
    console.log(`invalid ${what}: ${e.message.replace(/\s+/g, " ")}`);
    bad++;
  }
}
console.log(`${objs.length} objects, ${bad} invalid`);
process.exit(bad ? 1 : 0);
