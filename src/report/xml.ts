/** Escaping for the HTML, SVG and JUnit XML the reports write. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value, safe inside HTML/XML. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * XML 1.0 forbids most control characters even when escaped; runner messages
 * (tracebacks, logs) can contain them, and one would make junit.xml unreadable.
 */
export function xmlText(v: unknown): string {
  // eslint-disable-next-line no-control-regex
  return esc(String(v).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD'));
}

/** A number with at most `digits` decimals and no trailing zeros, for SVG coordinates. */
export function num(v: number, digits = 1): string {
  return String(+v.toFixed(digits));
}
