// Validate Kubernetes objects offline against Kubernetes' own OpenAPI
// schemas, as compiled into the npm package kubernetes-models (no cluster).
// Those schemas let unknown fields through (the API server drops them, or
// refuses them with strict field validation), so a second check walks each
// object along the package's type declarations (.d.ts) and refuses a field
// its type does not declare: a misspelt optional field is caught too.
// Input: a JSON array of objects on stdin (deploy/k8s/validate.sh makes it
// from `kubectl kustomize`). Output: one line per object; exit 1 when one
// is invalid or of a kind the package does not know.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The fields of the first interface in a .d.ts file, with their types, and
// the files its imported types come from.
const decls = new Map();
function declOf(file) {
  if (decls.has(file)) return decls.get(file);
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";/gm)) {
    const from = m[2].startsWith(".")
      ? join(dirname(file), m[2].replace(/\.js$/, ".d.ts"))
      : join(nodeModules, m[2] + ".d.ts");
    imports.set(m[1], from);
  }
  const body = text.slice(text.indexOf("export interface"));
  const fields = new Map();
  for (const m of body.slice(0, body.indexOf("\n}")).matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm))
    fields.set(m[1], m[2].replace(/;$/, "")); // "{" opens a map: not walked
  const d = { fields, imports };
  decls.set(file, d);
  return d;
}

// Unknown fields of value v, declared by the interface of file.
function unknown(v, file, path, out) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return out;
  const d = declOf(file);
  for (const [k, sub] of Object.entries(v)) {
    const t = d.fields.get(k);
    if (t === undefined) {
      out.push(`${path}/${k}`);
      continue;
    }
    const arr = /^Array<(\w+)>$/.exec(t);
    const ref = d.imports.get(arr ? arr[1] : t);
    if (!ref || !existsSync(ref)) continue;
    if (arr && Array.isArray(sub))
      sub.forEach((e, i) => unknown(e, ref, `${path}/${k}/${i}`, out));
    else if (!arr) unknown(sub, ref, `${path}/${k}`, out);
  }
  return out;
}

let nodeModules;

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
    nodeModules ??= join(dirname(fileURLToPath(import.meta.resolve("kubernetes-models/v1/Pod"))), "..", "..");
    const dts = fileURLToPath(import.meta.resolve(`kubernetes-models/${path}/${o.kind}`)).replace(/\.js$/, ".d.ts");
    const extra = unknown(o, dts, "data", []);
    if (extra.length) throw new Error(`unknown field ${extra.join(", ")}`);
    console.log(`valid ${what}`);
  } catch (e) {
    console.log(`invalid ${what}: ${e.message.replace(/\s+/g, " ")}`);
    bad++;
  }
}
console.log(`${objs.length} objects, ${bad} invalid`);
process.exit(bad ? 1 : 0);
