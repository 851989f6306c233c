// Validates every Kubernetes manifest under installers/kubernetes/ offline,
// against the API's own OpenAPI schemas as the kubernetes-models package ships
// them (ajv). Each document's apiVersion and kind select its model; a
// document of a kind the package does not know fails. Exits non-zero on the
// first file with a problem, naming the file, the document and the field.
//
//   node check-manifests.mjs [DIR]   (default: ../kubernetes)

import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? join(here, "..", "kubernetes");

async function modelFor(apiVersion, kind) {
  // Core kinds live under "v1", the others under their group's name.
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    const module = await import(path);
    return module[kind];
  } catch (error) {
    throw new Error(`no schema for apiVersion ${apiVersion}, kind ${kind} (${error.message})`);
  }
}

let documents = 0;
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
  const text = readFileSync(join(dir, file), "utf8");
  const parsed = parseAllDocuments(text);
  for (const [index, doc] of parsed.entries()) {
    const where = `${file} document ${index + 1}`;
    if (doc.errors.length > 0) {
      console.error(`${where}: YAML: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    try {
      const Model = await modelFor(object.apiVersion, object.kind);
      new Model(object).validate();
      documents++;
      console.log(`ok   ${where}: ${object.kind} ${object.metadata?.namespace ?? ""}/${object.metadata?.name}`);
    } catch (error) {
      console.error(`FAIL ${where} (${object.kind} ${object.metadata?.name}): ${error.message}`);
      failed++;
    }
  }
}
console.log(`${documents} passed, ${failed} failed`);
process.exit(failed === 0 && documents > 0 ? 0 : 1);
