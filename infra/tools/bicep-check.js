#!/usr/bin/env node
// Bicep check without Azure: parses each .bicep/.bicepparam file (or every such file under a directory)
// with tree-sitter-bicep and reports every ERROR or MISSING node as "file:line:col: message". Files that
// parse are then checked for the wiring between files: module paths exist, modules get only parameters
// their target declares and every required one, referenced module outputs exist, and a .bicepparam file
// assigns only declared parameters and every required one.
// Exit 0: all clean; 1: errors found; 2: usage or I/O problem.
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

// ---- Wiring: what a compiler would catch between files, checked from the parse trees ----

function textOf(node, original) {
  return original.slice(node.startIndex, node.endIndex);
}

function unquote(node, original) {
  const t = textOf(node, original);
  return t.startsWith("'") && t.endsWith("'") ? t.slice(1, -1) : t;
}

function objectKeys(obj, original) {
  const keys = [];
  for (const prop of obj.namedChildren) {
    if (prop.type !== 'object_property' || prop.namedChildCount < 1) continue;
    keys.push({ name: unquote(prop.namedChild(0), original), pos: prop.startPosition, value: prop.namedChild(1) });
  }
  return keys;
}

// The object literal a module declaration assigns, through `if (...)` and `[for ...: ...]` wrappers.
function moduleBody(node) {
  let body = node.namedChild(node.namedChildCount - 1);
  for (let i = 0; i < 3 && body && body.type !== 'object'; i++) {
    body = body.type === 'for_statement' ? body.childForFieldName('body') : body.namedChild(body.namedChildCount - 1);
  }
  return body && body.type === 'object' ? body : null;
}

// Declarations of one parsed file: parameters (and whether they may be omitted), outputs, modules with the
// parameter names they pass, references to module outputs, and for .bicepparam files the using target and
// the assigned parameter names.
function declarations(tree, original) {
  const d = { params: new Map(), outputs: new Set(), modules: new Map(), outputRefs: [], using: null, assigned: [] };
  for (const node of tree.rootNode.namedChildren) {
    switch (node.type) {
      case 'parameter_declaration': {
        const type = node.namedChild(1);
        const optional = node.namedChildCount >= 3 || (type && textOf(type, original).trim().endsWith('?'));
        d.params.set(textOf(node.namedChild(0), original), { optional });
        break;
      }
      case 'output_declaration':
        d.outputs.add(textOf(node.namedChild(0), original));
        break;
      case 'module_declaration': {
        const pathNode = node.namedChild(1);
        const body = moduleBody(node);
        let passed = null;
        if (body) {
          const paramsProp = objectKeys(body, original).find((k) => k.name === 'params');
          if (paramsProp && paramsProp.value && paramsProp.value.type === 'object') {
            passed = objectKeys(paramsProp.value, original);
          } else if (!paramsProp) {
            passed = [];
          }
        }
        d.modules.set(textOf(node.namedChild(0), original), {
          path: unquote(pathNode, original),
          pos: pathNode.startPosition,
          passed,
        });
        break;
      }
      case 'using_statement':
        d.using = { path: unquote(node.namedChild(0), original), pos: node.namedChild(0).startPosition };
        break;
      case 'variable_declaration':
        if (original.startsWith('param', node.startIndex)) {
          d.assigned.push({ name: textOf(node.namedChild(0), original), pos: node.namedChild(0).startPosition });
        }
        break;
      default:
    }
  }
  // sym.outputs.name anywhere in the file.
  const stack = [tree.rootNode];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node.type === 'member_expression') {
      const inner = node.childForFieldName('object');
      const prop = node.childForFieldName('property');
      if (inner && prop && inner.type === 'member_expression') {
        const sym = inner.childForFieldName('object');
        const mid = inner.childForFieldName('property');
        if (sym && mid && sym.type === 'identifier' && textOf(mid, original) === 'outputs') {
          d.outputRefs.push({ module: textOf(sym, original), name: textOf(prop, original), pos: prop.startPosition });
        }
      }
    }
    for (const child of node.namedChildren) stack.push(child);
  }
  return d;
}

function wiring(file, d, load) {
  const found = [];
  const local = (p) => !p.includes('${') && !/^(br|ts)[:/]/.test(p);
  for (const [sym, m] of d.modules) {
    if (!local(m.path)) continue;
    const target = load(path.resolve(path.dirname(file), m.path));
    if (!target) {
      found.push({ pos: m.pos, msg: `module ${sym}: ${m.path} not found` });
      continue;
    }
    if (!target.clean) continue; // its own syntax errors are reported against it
    if (m.passed) {
      const names = new Set(m.passed.map((p) => p.name));
      for (const p of m.passed) {
        if (!target.decl.params.has(p.name)) {
          found.push({ pos: p.pos, msg: `module ${sym}: ${m.path} declares no parameter ${p.name}` });
        }
      }
      for (const [name, info] of target.decl.params) {
        if (!info.optional && !names.has(name)) {
          found.push({ pos: m.pos, msg: `module ${sym}: required parameter ${name} of ${m.path} is not passed` });
        }
      }
    }
  }
  for (const ref of d.outputRefs) {
    const m = d.modules.get(ref.module);
    if (!m || !local(m.path)) continue;
    const target = load(path.resolve(path.dirname(file), m.path));
    if (target && target.clean && !target.decl.outputs.has(ref.name)) {
      found.push({ pos: ref.pos, msg: `module ${ref.module}: ${m.path} has no output ${ref.name}` });
    }
  }
  if (d.using && local(d.using.path)) {
    const target = load(path.resolve(path.dirname(file), d.using.path));
    if (!target) {
      found.push({ pos: d.using.pos, msg: `using: ${d.using.path} not found` });
    } else if (target.clean) {
      const names = new Set(d.assigned.map((a) => a.name));
      for (const a of d.assigned) {
        if (!target.decl.params.has(a.name)) {
          found.push({ pos: a.pos, msg: `${d.using.path} declares no parameter ${a.name}` });
        }
      }
      for (const [name, info] of target.decl.params) {
        if (!info.optional && !names.has(name)) {
          found.push({ pos: d.using.pos, msg: `required parameter ${name} of ${d.using.path} is not assigned` });
        }
      }
    }
  }
  return found;
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
  const cache = new Map();
  // Parses a file once; null when it does not exist.
  const load = (f) => {
    const key = path.resolve(f);
    if (cache.has(key)) return cache.get(key);
    let original;
    try {
      original = fs.readFileSync(key, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') {
        cache.set(key, null);
        return null;
      }
      throw err;
    }
    const source = asBicep(key, original);
    // The node binding reads large inputs through a callback in chunks; a callback avoids its 32 KiB string limit.
    const tree = parser.parse((index) => source.slice(index, index + 8192));
    // Same length as source, so node offsets index the text the user wrote.
    const syntax = problems(tree, original);
    const entry = { syntax, clean: syntax.length === 0, decl: declarations(tree, original) };
    cache.set(key, entry);
    return entry;
  };
  let bad = 0;
  for (const f of files) {
    const entry = load(f);
    const found = entry.clean ? wiring(f, entry.decl, load) : entry.syntax;
    for (const p of found) {
      process.stdout.write(`${f}:${p.pos.row + 1}:${p.pos.column + 1}: ${p.msg}\n`);
    }
    if (found.length > 0) bad++;
  }
  process.stdout.write(`bicep-check: ${files.length} file(s), ${bad} with errors\n`);
  return bad > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
