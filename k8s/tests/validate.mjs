// Validates Kubernetes objects offline, as strictly as `kubectl apply`
// (which refuses unknown fields since 1.27), then checks gridcast's own
// rules for its manifests.
//
//   node validate.mjs --modules DIR [--no-rules] FILE.yaml...
//
// DIR is a node_modules folder with kubernetes-models (JSON schemas of the
// Kubernetes API: types, required fields, formats), @kubernetes/client-node
// (the field names of every API type, from the same OpenAPI spec) and
// js-yaml; tools/install-deps.sh installs them. Exits 1 naming every
// object and field at fault, 0 when all pass.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import { checkGridcastRules } from "./gridcast_rules.mjs";

function parseArguments(argv) {
  const options = { modules: null, rules: true, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--modules") options.modules = argv[++i];
    else if (argv[i] === "--no-rules") options.rules = false;
    else options.files.push(argv[i]);
  }
  if (!options.modules || options.files.length === 0) {
    console.error("usage: validate.mjs --modules DIR [--no-rules] FILE...");
    process.exit(2);
  }
  return options;
}

const options = parseArguments(process.argv.slice(2));
const require = createRequire(join(options.modules, "noop.js"));
const yaml = require("js-yaml");
const clientModels =
    join(options.modules, "@kubernetes/client-node/dist/gen/models");

// "apps/v1" + "Deployment" -> "kubernetes-models/apps/v1/Deployment".
function schemaModelOf(apiVersion, kind) {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

// "autoscaling/v2" + "HorizontalPodAutoscaler" ->
// "V2HorizontalPodAutoscaler", the client's name for the type.
function clientTypeOf(apiVersion, kind) {
  const version = apiVersion.split("/").pop();
  return version.charAt(0).toUpperCase() + version.slice(1) + kind;
}

function schemaErrors(object) {
  let Model;
  try {
    Model = require(schemaModelOf(object.apiVersion, object.kind))[object.kind];
  } catch (error) {
    return [`no schema for ${object.apiVersion} ${object.kind}`];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return error.message.split("\n").filter((line) => line.trim() !== "");
  }
}

const attributeCache = new Map();

async function attributesOf(type) {
  if (attributeCache.has(type)) return attributeCache.get(type);
  const file = join(clientModels, `${type}.js`);
  let attributes = null;
  if (existsSync(file)) {
    const module = await import(pathToFileURL(file).href);
    const model = module[type];
    if (model && typeof model.getAttributeTypeMap === "function") {
      attributes = new Map(
        model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    }
  }
  attributeCache.set(type, attributes);
  return attributes;
}

// Walks `value` as the client type `type` and reports every field the API
// does not define, with its path.
async function unknownFields(value, type, path, found) {
  if (value === null || typeof value !== "object") return;

  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return;
    for (let i = 0; i < value.length; i++) {
      await unknownFields(value[i], array[1], `${path}[${i}]`, found);
    }
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [key, item] of Object.entries(value)) {
      await unknownFields(item, map[1], `${path}.${key}`, found);
    }
    return;
  }
  const attributes = await attributesOf(type);
  if (attributes === null) return;  // a primitive, IntOrString, any...
  for (const [key, item] of Object.entries(value)) {
    if (!attributes.has(key)) {
      found.push(`${path}.${key}: unknown field in ${type}`);
      continue;
    }
    await unknownFields(item, attributes.get(key), `${path}.${key}`, found);
  }
}

async function validateObject(object) {
  if (!object || typeof object.apiVersion !== "string" ||
      typeof object.kind !== "string") {
    return ["not a Kubernetes object (apiVersion and kind are required)"];
  }
  const errors = schemaErrors(object);
  const type = clientTypeOf(object.apiVersion, object.kind);
  if (await attributesOf(type) === null) {
    errors.push(`no field list for ${type}`);
  } else {
    await unknownFields(object, type, "", errors);
  }
  return errors;
}

function nameOf(object) {
  const metadata = (object && object.metadata) || {};
  return `${object && object.kind}/${metadata.name}`;
}

let failures = 0;
let checked = 0;
for (const file of options.files) {
  const objects = yaml.loadAll(readFileSync(file, "utf8"))
      .filter((object) => object !== null);
  for (const object of objects) {
    checked++;
    for (const error of await validateObject(object)) {
      console.log(`${file}: ${nameOf(object)}: ${error}`);
      failures++;
    }
  }
  if (options.rules) {
    for (const error of checkGridcastRules(objects)) {
      console.log(`${file}: ${error}`);
      failures++;
    }
  }
}
console.log(`validate: ${checked} objects, ${failures} problems`);
process.exit(failures === 0 ? 0 : 1);
