/**
 * Version ranges as pipelines write them: `>=10.12 <12`, `==8.9`, `10`
 * (comparators joined by AND; a bare version means "this version or any
 * patch/minor below it": `10` is 10.x, `10.12` is 10.12.x). Used for
 * `require.tensorrt` and `require.compute_capability`; the schema checks the
 * syntax, this checks what a range allows.
 */

type Version = [number, number, number];
interface Bound {
  v: Version;
  inclusive: boolean;
}
export interface Interval {
  /** Undefined: unbounded. */
  lo?: Bound;
  hi?: Bound;
}

const COMPARATOR = /(>=|<=|>|<|==)?\s*([0-9]+(?:\.[0-9]+){0,2})/g;

function parseVersion(s: string): { v: Version; parts: number } {
  const parts = s.split('.').map(Number);
  return { v: [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0], parts: parts.length };
}

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The next version after the prefix `v` of `parts` components: 10 -> 11, 10.12 -> 10.13. */
function bump(v: Version, parts: number): Version {
  if (parts === 1) return [v[0] + 1, 0, 0];
  if (parts === 2) return [v[0], v[1] + 1, 0];
  return [v[0], v[1], v[2] + 1];
}

function tighterLo(a: Bound | undefined, b: Bound): Bound {
  if (!a) return b;
  const c = cmp(a.v, b.v);
  return c > 0 || (c === 0 && !a.inclusive) ? a : b;
}

function tighterHi(a: Bound | undefined, b: Bound): Bound {
  if (!a) return b;
  const c = cmp(a.v, b.v);
  return c < 0 || (c === 0 && !a.inclusive) ? a : b;
}

/** The interval a range allows (syntax assumed valid: the schema checked it). */
export function parseRange(range: string): Interval {
  let out: Interval = {};
  for (const m of range.matchAll(COMPARATOR)) {
    const op = m[1] ?? '';
    const { v, parts } = parseVersion(m[2]!);
    if (op === '>=') out = { ...out, lo: tighterLo(out.lo, { v, inclusive: true }) };
    else if (op === '>') out = { ...out, lo: tighterLo(out.lo, { v, inclusive: false }) };
    else if (op === '<=') out = { ...out, hi: tighterHi(out.hi, { v, inclusive: true }) };
    else if (op === '<') out = { ...out, hi: tighterHi(out.hi, { v, inclusive: false }) };
    else if (op === '==') out = { lo: tighterLo(out.lo, { v, inclusive: true }), hi: tighterHi(out.hi, { v, inclusive: true }) };
    else out = { lo: tighterLo(out.lo, { v, inclusive: true }), hi: tighterHi(out.hi, { v: bump(v, parts), inclusive: false }) };
  }
  return out;
}

/** True when no version lies in the interval. */
export function isEmpty(i: Interval): boolean {
  if (!i.lo || !i.hi) return false;
  const c = cmp(i.lo.v, i.hi.v);
  return c > 0 || (c === 0 && !(i.lo.inclusive && i.hi.inclusive));
}

/** The interval both allow. */
export function intersect(a: Interval, b: Interval): Interval {
  return {
    ...(a.lo || b.lo ? { lo: b.lo ? tighterLo(a.lo, b.lo) : a.lo } : {}),
    ...(a.hi || b.hi ? { hi: b.hi ? tighterHi(a.hi, b.hi) : a.hi } : {}),
  };
}

/** True when some version satisfying `range` also satisfies `other`. */
export function overlaps(range: string, other: string): boolean {
  return !isEmpty(intersect(parseRange(range), parseRange(other)));
}

/** A dotted version as a comparable triple; undefined for anything else ("", "11.0.0a"). */
function versionOf(s: string): Version | undefined {
  return /^\s*[0-9]+(\.[0-9]+)*\s*$/.test(s) ? parseVersion(s.trim()).v : undefined;
}

/**
 * True when `version` (a runner's TensorRT version, a GPU's compute capability) lies in `range`,
 * with the same reading as validation: a bare `10` is 10.x. A version that is not dotted numbers
 * satisfies nothing.
 */
export function satisfies(version: string, range: string): boolean {
  const v = versionOf(version);
  if (!v) return false;
  const { lo, hi } = parseRange(range);
  const aboveLo = !lo || cmp(v, lo.v) > 0 || (lo.inclusive && cmp(v, lo.v) === 0);
  const belowHi = !hi || cmp(v, hi.v) < 0 || (hi.inclusive && cmp(v, hi.v) === 0);
  return aboveLo && belowHi;
}
