/**
 * Structural check of a parsed pipeline against the committed JSON Schema,
 * with ajv's errors turned into positioned, human diagnostics.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { SCHEMA_PATH } from '../paths.js';
import type { Diagnostic, KeyPath } from './diagnostics.js';
import { at, type SourceFile } from './source.js';
import { suggest } from './suggest.js';

let compiled: { validate: ValidateFunction; schema: Record<string, unknown> } | undefined;

/** The schema as committed (pipelines/schema/pipeline.schema.json). */
export function loadSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
}

function validator() {
  if (!compiled) {
    // ajv ships CommonJS; createRequire avoids the ESM default-export dance.
    const require = createRequire(import.meta.url);
    const Ajv2020 = require('ajv/dist/2020').default as typeof import('ajv').default;
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    const schema = loadSchema();
    compiled = { validate: ajv.compile(schema), schema };
  }
  return compiled;
}

/** Returns the schema errors of `data` (parsed from `source`), positioned. */
export function checkSchema(data: unknown, source: SourceFile): Diagnostic[] {
  const { validate } = validator();
  if (validate(data)) return [];
  return toDiagnostics(validate.errors ?? [], source, data);
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

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v}' (a string)`;
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

function toDiagnostics(errors: ErrorObject[], source: SourceFile, data: unknown): Diagnostic[] {
  // anyOf: ajv reports every failed branch; report the anyOf once instead.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const insideAnyOf = [...anyOfPaths].some(
      (p) => e.keyword !== 'anyOf' && (e.instancePath === p || e.instancePath.startsWith(p + '/')) && e.schemaPath.includes('/anyOf/'),
    );
    if (insideAnyOf) continue;
    const d = one(e, source, data);
    const key = `${d.line}:${d.col}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

function one(e: ErrorObject, source: SourceFile, data: unknown): Diagnostic {
  const path = toPath(e.instancePath);
  const value = valueAt(data, path);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const close = suggest(key, allowed);
      return at(source, [...path, key], 'unknown-key', `unknown key '${key}'`,
        close ? `did you mean '${close}'?` : allowed.length ? `allowed here: ${allowed.join(', ')}` : undefined,
        { key: true });
    }
    case 'required': {
      const key = String(p.missingProperty);
      return at(source, path, 'missing-key', `missing required key '${key}'`, undefined, { key: true });
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const close = typeof value === 'string' ? suggest(value, allowed) : undefined;
      return at(source, path, 'enum', `${describeValue(value)} is not allowed here`,
        close ? `did you mean '${close}'? (one of: ${allowed.join(', ')})` : `use one of: ${allowed.join(', ')}`);
    }
    case 'const':
      return at(source, path, 'const', `must be ${JSON.stringify(p.allowedValue)}, got ${describeValue(value)}`);
    case 'type': {
      const want = String(p.type).split(',').map((t) => TYPE_WORDS[t] ?? t).join(' or ');
      return at(source, path, 'type', `must be ${want}, got ${describeValue(value)}`);
    }
    case 'anyOf': {
      const expected = (e.parentSchema as Record<string, unknown> | undefined)?.['x-expected'];
      return at(source, path, 'type', `${describeValue(value)} is not valid here`,
        typeof expected === 'string' ? `expected ${expected}` : undefined);
    }
    case 'pattern':
      return at(source, path, 'pattern', `${describeValue(value)} does not have the expected form`,
        patternHint(path, String(p.pattern)));
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' };
      return at(source, path, 'range', `must be ${words[e.keyword]} ${String(p.limit)}, got ${String(value)}`);
    }
    case 'minItems':
      return at(source, path, 'min-items', `needs at least ${String(p.limit)} item(s)`);
    case 'uniqueItems':
      return at(source, [...path, Number(p.i)], 'duplicate-item', `duplicate item (same as item ${String(p.j)})`);
    case 'minLength':
      return at(source, path, 'empty', 'must not be empty');
    case 'maxLength':
      return at(source, path, 'too-long', `must be at most ${String(p.limit)} characters`);
    case 'minProperties':
      return at(source, path, 'empty', `needs at least ${String(p.limit)} key(s)`);
    case 'propertyNames': {
      const name = String(p.propertyName);
      return at(source, [...path, name], 'unknown-key', `'${name}' is not allowed as a key here`, undefined, { key: true });
    }
    default:
      return at(source, path, e.keyword, e.message ?? 'is invalid');
  }
}

function patternHint(path: KeyPath, pattern: string): string | undefined {
  const last = path[path.length - 1];
  if (last === 'name' || path[0] === 'name') return 'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit';
  if (path.includes('runner')) return 'write local, grpc://host:port or grpcs://host:port';
  if (last === 'compute_capability') return 'write a version with an optional comparison, e.g. ">=8.9"';
  if (last === 'token_env') return 'write an environment variable name, e.g. TRTPIPE_TOKEN';
  return `expected the pattern ${pattern}`;
}
