// Python for the stage contract (proto/trtpipe/runner/v1/contract/stages/*.schema.json): one frozen
// dataclass per named object schema, with `parse(value, at)` that checks what the schema says
// (required and unknown keys, types, enums, bounds) and raises the runner's UserError naming the
// key path, so a stage never guesses a missing value. Only the subset of JSON Schema the stage
// schemas use is supported; anything else stops the generator (better than a silent gap).
// Why not datamodel-code-generator or jsonschema: docs/decisions.md ("Stage contract").

const SUPPORTED = new Set([
  '$schema',
  '$id',
  '$comment',
  '$defs',
  '$ref',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'minItems',
  'minProperties',
  'default',
  'examples',
  'x-absent',
  // The TypeScript type of a value JSON Schema cannot type (json-schema-to-typescript); Python reads it as the schema says.
  'tsType',
]);

const PY_RESERVED = new Set(['from', 'import', 'class', 'def', 'global', 'lambda', 'pass', 'return', 'in', 'is', 'not', 'or', 'and']);

export function pythonStages(schemas, stageNames, banner) {
  // Every named schema, by class name (a $defs key), with the file it lives in.
  const defs = new Map();
  for (const [file, schema] of Object.entries(schemas)) {
    for (const [name, def] of Object.entries(schema.$defs ?? {})) {
      if (defs.has(name)) throw new Error(`contract: $defs/${name} is defined in ${defs.get(name).file} and ${file}`);
      defs.set(name, { file, def });
    }
  }
  const resolve = (ref, file) => {
    const m = /^(?:([\w.-]+\.schema\.json))?#\/\$defs\/(\w+)$/.exec(ref);
    if (!m) throw new Error(`contract: unsupported $ref '${ref}' in ${file}`);
    const name = m[2];
    const found = defs.get(name);
    if (!found || (m[1] && found.file !== m[1]) || (!m[1] && found.file !== file))
      throw new Error(`contract: $ref '${ref}' in ${file} points nowhere`);
    return name;
  };
  const check = (node, where) => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    for (const k of Object.keys(node)) {
      if (!SUPPORTED.has(k)) throw new Error(`contract: ${where}: keyword '${k}' is not supported by scripts/contract-python.mjs`);
    }
    for (const [k, v] of Object.entries(node.properties ?? {})) check(v, `${where}.${k}`);
    if (node.items) check(node.items, `${where}[]`);
    if (typeof node.additionalProperties === 'object') check(node.additionalProperties, `${where}.*`);
  };
  for (const [name, { def, file }] of defs) check(def, `${file}#/$defs/${name}`);

  const isClass = (def) => def.type === 'object' && def.properties !== undefined;
  const types = (def) => (Array.isArray(def.type) ? def.type : def.type ? [def.type] : []);

  /** [python type annotation, converter expression over `v` and `at`]. */
  const convert = (def, file, v, at) => {
    if (def.$ref) {
      const name = resolve(def.$ref, file);
      const target = defs.get(name);
      return isClass(target.def) ? [name, `${name}.parse(${v}, ${at})`] : [pyType(target.def, target.file), `_${snake(name)}(${v}, ${at})`];
    }
    const ts = types(def);
    const nullable = ts.includes('null');
    const base = ts.filter((t) => t !== 'null');
    if (base.length > 1) throw new Error(`contract: union type ${JSON.stringify(def.type)} is not supported`);
    const [t] = base;
    let ann;
    let expr;
    if (def.enum) {
      ann = 'str';
      expr = `_enum(${v}, ${at}, (${def.enum.map((x) => JSON.stringify(x)).join(', ')}${def.enum.length === 1 ? ',' : ''}))`;
    } else if (t === 'string') {
      [ann, expr] = ['str', `_str(${v}, ${at})`];
    } else if (t === 'boolean') {
      [ann, expr] = ['bool', `_bool(${v}, ${at})`];
    } else if (t === 'integer' || t === 'number') {
      const bounds = [`lo=${def.minimum ?? 'None'}`, `gt=${def.exclusiveMinimum ?? 'None'}`, `hi=${def.maximum ?? 'None'}`].join(', ');
      [ann, expr] = t === 'integer' ? ['int', `_int(${v}, ${at}, ${bounds})`] : ['float', `_num(${v}, ${at}, ${bounds})`];
    } else if (t === 'array') {
      if (!def.items) throw new Error('contract: an array needs items');
      const [a, e] = convert(def.items, file, 'v', 'at');
      ann = `list[${a}]`;
      expr = `_each(${v}, ${at}, ${def.minItems ?? 0}, lambda v, at: ${e})`;
    } else if (t === 'object') {
      if (def.properties) throw new Error('contract: an object with properties must be a named $defs entry');
      if (typeof def.additionalProperties === 'object') {
        const [a, e] = convert(def.additionalProperties, file, 'v', 'at');
        ann = `dict[str, ${a}]`;
        expr = `_map(${v}, ${at}, ${def.minProperties ?? 0}, lambda v, at: ${e})`;
      } else {
        [ann, expr] = ['dict[str, Any]', `_dict(${v}, ${at}, ${def.minProperties ?? 0})`];
      }
    } else if (t === undefined && !def.enum) {
      [ann, expr] = ['Any', v];
    } else {
      throw new Error(`contract: type ${t} is not supported`);
    }
    return nullable ? [`${ann} | None`, `(None if ${v} is None else ${expr})`] : [ann, expr];
  };
  const pyType = (def, file) => convert(def, file, 'v', 'at')[0];

  const out = [
    banner,
    'from __future__ import annotations',
    '',
    'from dataclasses import dataclass, field',
    'from typing import Any, Callable',
    '',
    'from ..errors import UserError',
    '',
    '',
    HELPERS,
  ];
  // Non-object named schemas (an enum, say): a converter function.
  for (const [name, { def, file }] of defs) {
    if (isClass(def)) continue;
    const [ann, expr] = convert(def, file, 'v', 'at');
    out.push('', '', `def _${snake(name)}(v: Any, at: str) -> ${ann}:`, `    return ${expr}`);
  }
  for (const [name, { def, file }] of defs) {
    if (!isClass(def)) continue;
    if (def.additionalProperties === undefined)
      throw new Error(`contract: ${file}#/$defs/${name} must say additionalProperties (false, or true for details that backends extend)`);
    const required = new Set(def.required ?? []);
    const props = Object.entries(def.properties);
    for (const [k, p] of props) {
      if (required.has(k) && p.default !== undefined)
        throw new Error(`contract: ${name}.${k} is required and has a default: a value has one place`);
    }
    const fields = [...props.filter(([k]) => required.has(k)), ...props.filter(([k]) => !required.has(k))];
    const doc = (def.description ?? def.title ?? name).replace(/"""/g, "'''");
    out.push('', '', '@dataclass(frozen=True)', `class ${name}:`, `    """${wrap(doc, 4)}"""`, '');
    for (const [k, p] of fields) {
      const [ann] = convert(p, file, 'v', 'at');
      const attr = pyName(k);
      if (required.has(k)) out.push(`    ${attr}: ${ann}`);
      else if (p.default !== undefined) out.push(`    ${attr}: ${ann} = ${pyDefault(p.default)}`);
      else out.push(`    ${attr}: ${ann.endsWith('| None') || ann === 'Any' ? ann : `${ann} | None`} = None`);
    }
    if (def.additionalProperties === true)
      out.push('    # Keys the schema leaves open (backend-specific details).', '    extra: dict[str, Any] = field(default_factory=dict)');
    const known = fields.map(([k]) => JSON.stringify(k)).join(', ');
    out.push(
      '',
      '    @classmethod',
      `    def parse(cls, value: Any, at: str = "") -> "${name}":`,
      `        """Checks \`value\` against the schema; UserError naming the key path when it does not fit."""`,
      `        ${fields.length || def.additionalProperties === true ? 'o = ' : ''}_object(value, at, (${[...required].map((k) => JSON.stringify(k)).join(', ')}${required.size === 1 ? ',' : ''}), ` +
        `${def.additionalProperties === false ? `(${known}${fields.length === 1 ? ',' : ''})` : 'None'})`,
      '        return cls(',
    );
    for (const [k, p] of fields) {
      const sub = `_at(at, ${JSON.stringify(k)})`;
      const [, expr] = convert(p, file, `o[${JSON.stringify(k)}]`, sub);
      if (required.has(k)) out.push(`            ${pyName(k)}=${expr},`);
      else {
        const absent = p.default !== undefined ? pyDefault(p.default) : 'None';
        out.push(`            ${pyName(k)}=${expr} if o.get(${JSON.stringify(k)}) is not None else ${absent},`);
      }
    }
    if (def.additionalProperties === true)
      out.push(`            extra={k: v for k, v in o.items() if k not in (${known}${fields.length === 1 ? ',' : ''})},`);
    out.push(
      '        )',
      '',
      '    def to_json(self) -> dict[str, Any]:',
      '        """Back to JSON as the contract writes it (absent optional keys left out)."""',
      '        out: dict[str, Any] = {}',
    );
    for (const [k, p] of fields) {
      if (required.has(k) || p.default !== undefined) out.push(`        out[${JSON.stringify(k)}] = _json(self.${pyName(k)})`);
      else out.push(`        if self.${pyName(k)} is not None:`, `            out[${JSON.stringify(k)}] = _json(self.${pyName(k)})`);
    }
    if (def.additionalProperties === true) out.push('        out.update(self.extra)');
    out.push('        return out');
  }
  const pascal = (s) => s.replace(/(^|[-_])(\w)/g, (_, __, c) => c.toUpperCase());
  out.push('', '', "# Each stage's params and details classes, by stage name.");
  out.push(`PARAMS: dict[str, Any] = {${stageNames.map((s) => `"${s}": ${pascal(s)}Params`).join(', ')}}`);
  out.push(`DETAILS: dict[str, Any] = {${stageNames.map((s) => `"${s}": ${pascal(s)}Details`).join(', ')}}`);
  out.push(
    '',
    '',
    'def parse_params(stage: str, params: Any) -> Any:',
    '    """The stage\'s params, checked: UserError (INVALID_ARGUMENT) naming a missing, unknown or malformed key."""',
    '    return PARAMS[stage].parse(params, "params")',
    '',
    '',
    'def check_details(stage: str, details: Any) -> Any:',
    '    """The stage\'s result details, checked against the contract (tests; run-stage --check)."""',
    '    return DETAILS[stage].parse(details, "details")',
    '',
  );
  return out.join('\n');
}

function snake(s) {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function pyName(k) {
  const n = k.replace(/[^A-Za-z0-9_]/g, '_');
  return PY_RESERVED.has(n) ? `${n}_` : n;
}

function pyDefault(v) {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  throw new Error(`contract: default ${JSON.stringify(v)}: only scalars (a mutable default would be shared)`);
}

function wrap(text, indent) {
  const words = text.split(/\s+/);
  const lines = [];
  let line = '';
  for (const w of words) {
    if ((line + ' ' + w).trim().length > 100 - indent) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const HELPERS = `def _at(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _fail(at: str, message: str, code: str = "BAD_PARAM") -> UserError:
    return UserError(f"{at or 'params'}: {message}", code=code)


def _object(value: Any, at: str, required: tuple[str, ...], known: tuple[str, ...] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(at, f"must be an object, got {type(value).__name__}")
    missing = [k for k in required if k not in value]
    if missing:
        raise _fail(at, f"required key {', '.join(repr(k) for k in missing)} is missing "
                        f"(the orchestrator always sends it; a direct caller must give it)", "PARAM_MISSING")
    if known is not None:
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise _fail(at, f"unknown key {', '.join(repr(k) for k in unknown)} (known: {', '.join(known)})", "PARAM_UNKNOWN")
    return value


def _str(v: Any, at: str) -> str:
    if not isinstance(v, str):
        raise _fail(at, f"must be a string, got {v!r}")
    return v


def _enum(v: Any, at: str, options: tuple[Any, ...]) -> Any:
    if v not in options or isinstance(v, bool):
        raise _fail(at, f"must be one of {', '.join(map(str, options))}, got {v!r}")
    return v


def _bool(v: Any, at: str) -> bool:
    if not isinstance(v, bool):
        raise _fail(at, f"must be true or false, got {v!r}")
    return v


def _bounded(v: float, at: str, lo: float | None, gt: float | None, hi: float | None) -> None:
    if (lo is not None and v < lo) or (gt is not None and v <= gt) or (hi is not None and v > hi):
        bounds = [f">= {lo}" if lo is not None else "", f"> {gt}" if gt is not None else "", f"<= {hi}" if hi is not None else ""]
        raise _fail(at, f"must be {' and '.join(b for b in bounds if b)}, got {v!r}")


def _int(v: Any, at: str, lo: float | None = None, gt: float | None = None, hi: float | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(at, f"must be an integer, got {v!r}")
    _bounded(v, at, lo, gt, hi)
    return v


def _num(v: Any, at: str, lo: float | None = None, gt: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(at, f"must be a number, got {v!r}")
    _bounded(v, at, lo, gt, hi)
    return float(v)


def _list(v: Any, at: str, min_items: int) -> list[Any]:
    if not isinstance(v, list):
        raise _fail(at, f"must be a list, got {v!r}")
    if len(v) < min_items:
        raise _fail(at, f"needs at least {min_items} item(s)")
    return v


def _dict(v: Any, at: str, min_properties: int) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _fail(at, f"must be an object, got {v!r}")
    if len(v) < min_properties:
        raise _fail(at, f"needs at least {min_properties} key(s)")
    return v


def _each(v: Any, at: str, min_items: int, conv: Callable[[Any, str], Any]) -> list[Any]:
    return [conv(x, f"{at}[{i}]") for i, x in enumerate(_list(v, at, min_items))]


def _map(v: Any, at: str, min_properties: int, conv: Callable[[Any, str], Any]) -> dict[str, Any]:
    return {k: conv(x, f"{at}.{k}") for k, x in _dict(v, at, min_properties).items()}


def _json(obj: Any) -> Any:
    """A parsed value back to JSON."""
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if isinstance(obj, list):
        return [_json(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _json(v) for k, v in obj.items()}
    return obj`;
