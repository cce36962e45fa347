#!/usr/bin/env node
// Fails on an import that points up a layer of src/ (docs/architecture.md, "Layers"), or on a
// module outside src/runner-client/ that imports gRPC (grpc-js or the code protoc generated).
// A small walk over the import graph: every `import ... from '...'` and `import('...')` of
// every .ts file under src/, type-only imports included (a type names a dependency too).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');

/** Bottom to top; a module may import its own layer and those below, never a peer's folder. */
export const LAYERS = [
  ['gen', 'errors.ts', 'version.ts', 'paths.ts', 'user-files.ts'],
  ['config'],
  ['plan'],
  ['store'],
  ['report', 'runner-client'],
  ['run'],
  ['cli'],
];
/** Only these may import gRPC: the runner client adapts it, everything else sees domain types. */
const GRPC_USERS = ['runner-client', 'gen'];
const GRPC = /^@grpc\/|^@bufbuild\/|(^|\/)gen\/(trtpipe|grpc)\//;

/** The folder under src/, or the file for modules at its top (`errors.ts`); imports name .js files. */
function unitOf(file) {
  const [first, ...rest] = path.relative(src, file).split(path.sep);
  return rest.length ? first : first.replace(/\.js$/, '.ts');
}
function layerOf(unit) {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  if (i < 0) throw new Error(`check-layers: ${unit} is in no layer; add it to LAYERS (and docs/architecture.md)`);
  return i;
}
function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
for (const file of walk(src)) {
  const unit = unitOf(file);
  if (unit === 'gen') continue;
  const layer = layerOf(unit);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    const rel = path.relative(root, file);
    if (GRPC.test(spec) && !GRPC_USERS.includes(unit))
      problems.push(`${rel}: imports ${spec}: only src/runner-client/ may use gRPC (it returns domain types)`);
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(src + path.sep)) continue;
    const to = unitOf(target);
    if (to === unit) continue;
    const toLayer = layerOf(to);
    if (toLayer > layer)
      problems.push(`${rel}: imports ${path.relative(root, target)}: ${unit} (layer ${layer}) must not depend on ${to} (layer ${toLayer})`);
    else if (toLayer === layer && layer !== 0)
      problems.push(`${rel}: imports ${path.relative(root, target)}: ${unit} and ${to} are peers and must not depend on each other`);
  }
}
if (problems.length) {
  console.error(`check-layers: ${problems.length} import(s) against the layers (docs/architecture.md):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-layers: every import of src/ points down: ${LAYERS.map((l) => l.join('+')).join(' < ')}`);
