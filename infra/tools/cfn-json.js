#!/usr/bin/env node
// Prints a CloudFormation/SAM YAML template as JSON, with the short-form intrinsic tags (!Ref, !Sub,
// !GetAtt, ...) turned into their long forms ({"Ref": ...}, {"Fn::Sub": ...}), so infra/sam.go can check it.
// Exit 0: printed; 1: the YAML does not parse; 2: usage or I/O problem.
'use strict';

const fs = require('fs');
let YAML;
try {
  YAML = require('yaml');
} catch (err) {
  process.stderr.write(`cfn-json: loading yaml (run "npm ci" in infra/tools): ${err.message}\n`);
  process.exit(2);
}

const fns = ['Sub', 'Join', 'If', 'Equals', 'Not', 'And', 'Or', 'Select', 'Split', 'FindInMap', 'Base64',
  'Cidr', 'ImportValue', 'GetAZs', 'Transform', 'ToJsonString', 'Length'];

function longForm(tag, value) {
  if (tag === 'Ref') return { Ref: value };
  if (tag === 'Condition') return { Condition: value };
  if (tag === 'GetAtt') {
    if (typeof value === 'string') {
      const dot = value.indexOf('.');
      return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
    }
    return { 'Fn::GetAtt': value };
  }
  return { [`Fn::${tag}`]: value };
}

const customTags = [];
for (const name of ['Ref', 'Condition', 'GetAtt', ...fns]) {
  customTags.push({ tag: `!${name}`, resolve: (str) => longForm(name, str) });
  customTags.push({ tag: `!${name}`, collection: 'seq', resolve: (seq) => longForm(name, seq.toJSON()) });
  customTags.push({ tag: `!${name}`, collection: 'map', resolve: (map) => longForm(name, map.toJSON()) });
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: cfn-json.js TEMPLATE.yaml\n');
  process.exit(2);
}
let text;
try {
  text = fs.readFileSync(file, 'utf8');
} catch (err) {
  process.stderr.write(`cfn-json: reading ${file}: ${err.message}\n`);
  process.exit(2);
}
const doc = YAML.parseDocument(text, { customTags, prettyErrors: true, uniqueKeys: true });
if (doc.errors.length > 0) {
  for (const e of doc.errors) {
    const at = e.linePos && e.linePos[0] ? `${e.linePos[0].line}:${e.linePos[0].col}` : '?:?';
    process.stdout.write(`${file}:${at}: ${e.message.split('\n')[0]}\n`);
  }
  process.exit(1);
}
process.stdout.write(JSON.stringify(doc.toJS({ maxAliasCount: 0 })) + '\n');
