#!/usr/bin/env node
// Validates one OpenAPI file as Swagger 2.0 with @apidevtools/swagger-parser: the document against the official
// Swagger 2.0 JSON schema, then the rules the schema cannot say (unique operationIds, path parameters declared,
// $refs that resolve, ...). Power Automate custom connectors import only Swagger 2.0, so 3.x is an error here.
// Exit 0: valid; 1: invalid; 2: usage or I/O problem.
'use strict';

let SwaggerParser;
try {
  SwaggerParser = require('@apidevtools/swagger-parser');
} catch (err) {
  process.stderr.write(`openapi-check: loading @apidevtools/swagger-parser (run "npm ci" in infra/tools): ${err.message}\n`);
  process.exit(2);
}
const fs = require('fs');

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  process.stderr.write('usage: openapi-check.js FILE.json\n');
  process.exit(2);
}
let doc;
try {
  doc = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  process.stderr.write(`openapi-check: reading ${file}: ${err.message}\n`);
  process.exit(2);
}
if (doc === null || typeof doc !== 'object' || doc.swagger !== '2.0') {
  process.stdout.write(`${file}: not a Swagger 2.0 document (want "swagger": "2.0")\n`);
  process.exit(1);
}

// validate() takes ownership of the object and dereferences it; pass a copy so the count below sees the original.
SwaggerParser.validate(structuredClone(doc))
  .then(() => {
    const ops = Object.values(doc.paths || {}).reduce((n, item) => n + Object.keys(item).filter((k) => !k.startsWith('x-') && k !== 'parameters').length, 0);
    process.stdout.write(`openapi-check: ${file}: valid Swagger 2.0, ${Object.keys(doc.paths || {}).length} path(s), ${ops} operation(s)\n`);
  })
  .catch((err) => {
    // Schema errors carry a details array; print each on its own line so a test can name the problem.
    const lines = [err.message.split('\n')[0]];
    const seen = new Set();
    for (const d of err.details || []) {
      const extra = d.params && d.params.additionalProperty ? ` (${d.params.additionalProperty})` : '';
      const line = `  ${d.instancePath || (d.path || []).join('/') || '/'}: ${d.message}${extra}`;
      if (!seen.has(line)) {
        seen.add(line);
        lines.push(line);
      }
    }
    process.stdout.write(`${file}: ${lines.join('\n')}\n`);
    process.exitCode = 1;
  });
