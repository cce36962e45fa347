/** Number formatting shared by the text reports. */

/**
 * A number as the runner writes it in JSON details: a number, or "nan", "inf", "-inf" for the
 * values JSON cannot hold (runner-py jsonsafe.py); null (what JSON.stringify made of NaN) is NaN.
 * Anything else is undefined.
 */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null) return NaN;
  if (typeof v !== 'string') return undefined;
  const s = v.toLowerCase();
  return s === 'nan' ? NaN : s === 'inf' || s === 'infinity' ? Infinity : s === '-inf' || s === '-infinity' ? -Infinity : undefined;
}

export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined || v === null) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(2);
  const s = v.toFixed(digits);
  // Trailing zeros say nothing: 0.5000 -> 0.5, 1.000000 -> 1.
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * A similarity near 1 (cosine, agreement) with enough digits to tell it from 1:
 * at least `digits`, and two more than the position of the first digit of 1 - v,
 * so 0.99999993 is never printed as 1. Exactly 1 prints as 1.
 */
export function fmtSimilarity(v: number | undefined, digits = 6): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return fmt(v);
  const gap = 1 - v;
  const needed = gap > 0 ? Math.ceil(-Math.log10(gap)) + 2 : digits;
  const s = v.toFixed(Math.min(15, Math.max(digits, needed)));
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function pct(v: number | undefined): string {
  return v === undefined ? '–' : `${(v * 100).toFixed(2)}%`;
}

export function ms(v: number | undefined): string {
  return v === undefined ? '–' : v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(v < 10 ? 2 : 1)} ms`;
}

/** Bytes in B, KiB or MiB. */
export function bytes(v: number | undefined): string {
  if (v === undefined) return '–';
  const a = Math.abs(v);
  return a >= 1 << 20 ? `${(v / (1 << 20)).toFixed(2)} MiB` : a >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`;
}

/** A relative change with its sign: +4.2%. */
export function signedPct(v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(digits)}%`;
}

/** A GitHub-flavoured Markdown table. */
export function mdTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(sep), ...rows.map(line)].join('\n');
}
