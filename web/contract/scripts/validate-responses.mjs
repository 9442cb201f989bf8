// Validates recorded live responses against docs/openapi.yaml.
//
//   node scripts/validate-responses.mjs records.json
//
// records.json is an array of {method, path, status, body, request_id,
// expect?}: path is the spec's template ("/checkout/v1/orders/{id}"), body
// the parsed JSON answer (null for an empty one). Each record must match a
// documented status of that operation, and the body its schema. Objects in
// the spec that list `properties` are closed here (additionalProperties
// false unless the spec says otherwise), so a field the service sends but
// the spec does not name is reported as drift. expect: "invalid" marks a
// record the validator must reject (proof that it can fail), because: a
// text the reason must contain. A record with `webhook` (an event name) is
// a webhook body, checked against webhooks/<event> instead. Exit status 1
// when any record fails.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const specPath = process.env.B4_OPENAPI || join(here, '../../docs/openapi.yaml');
const spec = parse(readFileSync(specPath, 'utf8'));

function closeObjects(node) {
  if (Array.isArray(node)) {
    node.forEach(closeObjects);
    return;
  }
  if (!node || typeof node !== 'object') return;
  if (node.properties && typeof node.properties === 'object' && !('additionalProperties' in node)
      && !node.allOf && !node.anyOf && !node.oneOf) {
    node.additionalProperties = false;
  }
  for (const value of Object.values(node)) closeObjects(value);
}
closeObjects(spec.components);
closeObjects(spec.paths);
closeObjects(spec.webhooks);

const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(spec, 'spec');

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

// The JSON pointer of the response object for (operation, status), through
// one components/responses $ref.
function responsePointer(op, opPointer, status) {
  const key = op.responses?.[String(status)] ? String(status) : (op.responses?.default ? 'default' : null);
  if (!key) return null;
  const res = op.responses[key];
  if (res.$ref) {
    const name = res.$ref.replace('#/components/responses/', '');
    return { res: spec.components.responses[name], pointer: `#/components/responses/${esc(name)}` };
  }
  return { res, pointer: `${opPointer}/responses/${key}` };
}

// A webhook body (rec.webhook names the event) against the schema of the
// spec's webhooks/<event> request.
function checkWebhook(rec) {
  const schema = spec.webhooks?.[rec.webhook]?.post?.requestBody?.content?.['application/json']?.schema;
  if (!schema) return `no webhook ${rec.webhook} in the spec`;
  const pointer = `spec#/webhooks/${esc(rec.webhook)}/post/requestBody/content/application~1json/schema`;
  const validate = ajv.getSchema(pointer) || ajv.compile({ $ref: pointer });
  if (validate(rec.body)) return null;
  return validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}` +
      (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '')).join('; ');
}

function check(rec) {
  if (rec.webhook) return checkWebhook(rec);
  const item = spec.paths?.[rec.path];
  const op = item?.[rec.method.toLowerCase()];
  if (!op) return `no operation ${rec.method} ${rec.path} in the spec`;
  const opPointer = `#/paths/${esc(rec.path)}/${rec.method.toLowerCase()}`;
  const found = responsePointer(op, opPointer, rec.status);
  if (!found) return `status ${rec.status} is not documented`;
  const content = found.res.content;
  if (rec.body === null || rec.body === undefined) {
    if (content) return 'empty body, but the spec documents content';
    return null;
  }
  const json = content?.['application/json'];
  if (!json?.schema) return 'the spec gives this response no JSON schema';
  const validate = ajv.getSchema(`spec${found.pointer}/content/application~1json/schema`) ||
      ajv.compile({ $ref: `spec${found.pointer}/content/application~1json/schema` });
  if (validate(rec.body)) return null;
  return validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}` +
      (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : '')).join('; ');
}

const records = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let failed = 0;
for (const rec of records) {
  let problem = check(rec);
  if (!problem && rec.status && !rec.request_id) problem = 'no X-Request-Id header';
  const label = `${rec.method} ${rec.path} ${rec.status}`;
  if (rec.expect === 'invalid') {
    if (problem && rec.because && !problem.includes(rec.because)) {
      console.log(`FAIL ${label}: rejected, but not because of "${rec.because}": ${problem}`);
      failed++;
    } else if (problem) {
      console.log(`ok   ${label} rejected as expected: ${problem}`);
    } else {
      console.log(`FAIL ${label}: a body that breaks the spec was accepted`);
      failed++;
    }
    continue;
  }
  if (problem) {
    console.log(`FAIL ${label}: ${problem}`);
    const shown = JSON.stringify(rec.body);
    console.log(`     body: ${process.env.B4_CONTRACT_FULL ? shown : shown.slice(0, 600)}`);
    failed++;
  } else {
    console.log(`ok   ${label}`);
  }
}
console.log(`${records.length - failed} of ${records.length} records as expected against docs/openapi.yaml`);
process.exit(failed ? 1 : 0);
