#!/usr/bin/env node
// Bicep syntax check without Azure: parses each .bicep/.bicepparam file (or every such file under a directory)
// with tree-sitter-bicep and reports every ERROR or MISSING node as "file:line:col: message".
// Exit 0: all files parse cleanly; 1: syntax errors; 2: usage or I/O problem.
// The Bicep CLI would also type-check, but it cannot be installed here (it downloads a binary), so this is the
// syntax half of `az bicep build`; the Go test in infra/ runs it in CI.
'use strict';

const fs = require('fs');
const path = require('path');

let Parser;
let Bicep;
try {
  Parser = require('tree-sitter');
  Bicep = require('tree-sitter-bicep');
} catch (err) {
  process.stderr.write(`bicep-check: loading tree-sitter (run "npm ci" in infra/tools): ${err.message}\n`);
  process.exit(2);
}

const exts = new Set(['.bicep', '.bicepparam']);

function collect(p, out) {
  const st = fs.statSync(p);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const child = path.join(p, name);
      if (fs.statSync(child).isDirectory() || exts.has(path.extname(name))) collect(child, out);
    }
  } else {
    out.push(p);
  }
}

// Walks the tree and yields the problems in source order. A MISSING node is one the parser invented to recover
// (a closing brace that is not there); an ERROR node wraps text it could not fit into the grammar.
function problems(tree, source) {
  const found = [];
  const cursor = tree.walk();
  let more = true;
  while (more) {
    const node = cursor.currentNode;
    if (node.isMissing) {
      found.push({ pos: node.startPosition, msg: `missing ${JSON.stringify(node.type)}` });
    } else if (node.type === 'ERROR') {
      // Quote from the error to the end of its line, so a short ERROR node still shows its context.
      const text = source.slice(node.startIndex, node.startIndex + 40).split('\n')[0];
      found.push({ pos: node.startPosition, msg: `syntax error near ${JSON.stringify(text)}` });
    }
    // Descend only where an error can still hide; an ERROR node's own children add nothing useful.
    if (node.type !== 'ERROR' && node.hasError && cursor.gotoFirstChild()) continue;
    while (!cursor.gotoNextSibling()) {
      if (!cursor.gotoParent()) {
        more = false;
        break;
      }
    }
  }
  return found;
}

// The grammar knows .bicep only: there `param` needs a type. A .bicepparam assignment `param NAME = EXPR` has
// the shape of `var NAME = EXPR`, so it is checked as that, with "var  " (same length) keeping every column.
// Anything else after `param` (a type, no `=`) still fails to parse, as Bicep would reject it too.
function asBicep(file, source) {
  if (path.extname(file) !== '.bicepparam') return source;
  return source.replace(/^([ \t]*)param(?=[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*=)/gm, '$1var  ');
}

function main(args) {
  if (args.length === 0) {
    process.stderr.write('usage: bicep-check.js FILE_OR_DIR...\n');
    return 2;
  }
  const files = [];
  try {
    for (const a of args) collect(a, files);
  } catch (err) {
    process.stderr.write(`bicep-check: reading ${err.path || ''}: ${err.message}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write('bicep-check: no .bicep or .bicepparam files found\n');
    return 2;
  }
  const parser = new Parser();
  parser.setLanguage(Bicep);
  let bad = 0;
  for (const f of files) {
    const original = fs.readFileSync(f, 'utf8');
    const source = asBicep(f, original);
    // The node binding reads large inputs through a callback in chunks; a callback avoids its 32 KiB string limit.
    const tree = parser.parse((index) => source.slice(index, index + 8192));
    // Same length as source, so node offsets index the text the user wrote.
    const found = problems(tree, original);
    for (const p of found) {
      process.stdout.write(`${f}:${p.pos.row + 1}:${p.pos.column + 1}: ${p.msg}\n`);
    }
    if (found.length > 0) bad++;
  }
  process.stdout.write(`bicep-check: ${files.length} file(s), ${bad} with syntax errors\n`);
  return bad > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
