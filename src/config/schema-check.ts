/**
 * Structural check of a parsed pipeline against the committed JSON Schema,
 * with ajv's errors turned into positioned, human diagnostics: what is wrong
 * and, where we can tell, how to fix it. The schema is compiled ahead of time
 * (scripts/gen-schema.mjs: ajv standalone code, allErrors + strict + verbose),
 * so the CLI does not compile it on every start.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { validate as generated } from '../gen/schema/pipeline-validate.js';
import type { Diagnostic, KeyPath } from './diagnostics.js';
import { at, type PipelineDocument } from './document.js';
import { suggest } from './suggest.js';

const validate = generated as unknown as ValidateFunction;

/** Returns the schema errors of the document, positioned, one per problem. */
export function checkSchema(doc: PipelineDocument): Diagnostic[] {
  if (validate(doc.value)) return [];
  return toDiagnostics(validate.errors ?? [], doc);
}

function toDiagnostics(errors: ErrorObject[], doc: PipelineDocument): Diagnostic[] {
  // anyOf: ajv reports every failed branch; report the anyOf once instead.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  // propertyNames: the inner error (carrying `propertyName`) says why a key is bad.
  const keyErrors = new Map<string, ErrorObject>();
  for (const e of errors) if (e.propertyName !== undefined) keyErrors.set(`${e.instancePath}|${e.propertyName}`, e);
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.propertyName !== undefined) continue;
    const insideAnyOf = e.keyword !== 'anyOf' && e.schemaPath.includes('/anyOf/') &&
      anyOfPaths.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`));
    if (insideAnyOf) continue;
    const d = one(e, doc, keyErrors);
    const key = `${d.file}:${d.line}:${d.col}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

function toPath(instancePath: string): KeyPath {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** A value as a message shows it: `'fp61' (a string)`, `a list`, `3 (a number)`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}' (a string)`;
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? '.nan (not a number)' : `${v > 0 ? '' : '-'}.inf (infinity)`;
  return `${String(v)} (a ${typeof v})`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

const TYPE_HINTS: Record<string, string> = {
  string: 'write text; quote it if it looks like a number or true/false',
  number: 'write a number such as 0.5',
  integer: 'write a whole number such as 8',
  boolean: 'write true or false',
  object: 'write key: value pairs (indented below the key, or { key: value })',
  array: 'write a list: [a, b], or one "- item" per line',
  null: 'write null',
};

function one(e: ErrorObject, doc: PipelineDocument, keyErrors: Map<string, ErrorObject>): Diagnostic {
  const path = toPath(e.instancePath);
  const value = valueAt(doc.value, path);
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const props = (parent.properties ?? {}) as Record<string, { examples?: unknown[] }>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys(props);
      const close = suggest(key, allowed);
      return at(doc, [...path, key], 'unknown-key', `unknown key '${key}'`,
        close ? `did you mean '${close}'?` : allowed.length ? `allowed here: ${allowed.join(', ')}` : 'remove it',
        { key: true });
    }
    case 'required': {
      const key = String(p.missingProperty);
      const example = props[key]?.examples?.[0];
      return at(doc, path, 'missing-key', `missing required key '${key}'`,
        example === undefined ? `add ${key}:` : `add ${key}: ${flowYaml(example)}`, { key: true });
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const close = typeof value === 'string' ? suggest(value, allowed) : undefined;
      return at(doc, path, 'enum', `${describeValue(value)} is not allowed here`,
        close ? `did you mean '${close}'? (one of: ${allowed.join(', ')})` : `use one of: ${allowed.join(', ')}`);
    }
    case 'const':
      return at(doc, path, 'const', `must be ${JSON.stringify(p.allowedValue)}, got ${describeValue(value)}`,
        path[0] === 'version' ? 'this trtpipe reads version: 1' : `write ${JSON.stringify(p.allowedValue)}`);
    case 'type': {
      const types = String(p.type).split(',');
      const want = types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
      return at(doc, path, 'type', `must be ${want}, got ${describeValue(value)}`, TYPE_HINTS[types[0]!]);
    }
    case 'anyOf': {
      const expected = parent['x-expected'];
      const hint = typeof expected === 'string' ? `write ${expected}` : undefined;
      if (Array.isArray(value) && !value.length) return at(doc, path, 'min-items', 'must not be an empty list', hint);
      // A list where lists are allowed: the problem is one of its items.
      const item = Array.isArray(value) ? value.findIndex((v) => typeof v !== 'string' || !itemOk(parent, v)) : -1;
      if (item >= 0) {
        return at(doc, [...path, item], 'type', `${describeValue((value as unknown[])[item])} is not valid in this list`,
          path.includes('runner') ? 'in a pool, every runner is an address: grpc://host:port or grpcs://host:port' : hint);
      }
      return at(doc, path, 'type', `${describeValue(value)} is not valid here`, hint);
    }
    case 'pattern':
      return at(doc, path, 'pattern', `${describeValue(value)} does not have the expected form`, patternHint(path, String(p.pattern)));
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' };
      return at(doc, path, 'range', `must be ${words[e.keyword]} ${String(p.limit)}, got ${typeof value === "number" && Number.isFinite(value) ? String(value) : describeValue(value)}`);
    }
    case 'minItems': {
      // Optional lists say what leaving them out means: "(default ...)" in their description.
      const optional = /\bdefault\b/.test(String(parent.description ?? ''));
      return at(doc, path, 'min-items', Number(p.limit) === 1 ? 'must not be an empty list' : `needs at least ${String(p.limit)} items`,
        optional ? 'list at least one item, or leave the key out for the default' : 'list at least one item');
    }
    case 'uniqueItems': {
      // ajv names the pair in either order, depending on the item type.
      const [first, second] = [Number(p.i), Number(p.j)].sort((a, b) => a - b);
      return at(doc, [...path, second!], 'duplicate-item', `duplicate item (same as item ${first})`, 'remove it');
    }
    case 'minLength':
      return at(doc, path, 'empty', 'must not be empty');
    case 'maxLength':
      return at(doc, path, 'too-long', `must be at most ${String(p.limit)} characters`);
    case 'minProperties': {
      const allowed = Object.keys(props);
      return at(doc, path, 'empty', 'must not be empty', allowed.length ? `give at least one of: ${allowed.join(', ')}` : undefined);
    }
    case 'propertyNames': {
      const name = String(p.propertyName);
      const inner = keyErrors.get(`${e.instancePath}|${name}`);
      if (inner?.keyword === 'enum') {
        const allowed = ((inner.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
        const close = suggest(name, allowed);
        return at(doc, [...path, name], 'unknown-key', `'${name}' is not allowed as a key here`,
          close ? `did you mean '${close}'? (one of: ${allowed.join(', ')})` : `use one of: ${allowed.join(', ')}`, { key: true });
      }
      return at(doc, [...path, name], 'bad-key', 'a key here must not be empty', undefined, { key: true });
    }
    default:
      return at(doc, path, e.keyword, e.message ?? 'is invalid');
  }
}

/** Whether `v` passes the item schema of the list branch of an anyOf (strings with a pattern or minLength). */
function itemOk(anyOf: Record<string, unknown>, v: string): boolean {
  const list = ((anyOf.anyOf ?? []) as Record<string, unknown>[]).find((b) => b.type === 'array');
  const items = (list?.items ?? {}) as { pattern?: string; minLength?: number };
  if (items.minLength !== undefined && v.length < items.minLength) return false;
  return items.pattern === undefined || new RegExp(items.pattern, 'u').test(v);
}

/** A value as YAML flow text, for hints: `{ path: model.onnx }`, `[{ name: cpu }]`. */
export function flowYaml(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowYaml).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${flowYaml(x)}`).join(', ')} }`;
  if (typeof v === 'string') return /^[\w./-]+$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

function patternHint(path: KeyPath, pattern: string): string {
  const last = path[path.length - 1];
  if (last === 'name' || path[0] === 'name') return 'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit';
  if (path.includes('runner')) return 'write local, grpc://host:port or grpcs://host:port';
  if (last === 'compute_capability') return 'write a version with an optional comparison, e.g. ">=8.9"';
  if (last === 'tensorrt') return 'write versions with comparisons, e.g. ">=10.12 <12"';
  if (last === 'token_env') return 'write an environment variable name, e.g. TRTPIPE_TOKEN';
  if (pattern.includes('%')) return 'write a number or a percentage such as "5%"';
  return `expected the pattern ${pattern}`;
}
