/**
 * Values a pipeline took from the environment through `${VAR}`, so that every place trtpipe
 * writes text (the terminal, run.json, metrics.json, the reports, history.jsonl) can mask them:
 * a variable a pipeline may read is still the user's, and CI uploads reports and logs. A value is
 * masked as the `${NAME}` it came from. Defaults (`${VAR:-default}`) are the pipeline's own text
 * and are not masked; neither are values shorter than MIN_MASKED characters nor numbers and
 * booleans (`iterations: ${TRTPIPE_N}`), which masking would corrupt wherever the same digits
 * appear. docs/decisions.md, "Environment variables in pipelines".
 */

/** Only variables with this prefix are read; any other `${NAME}` is an error. */
export const ENV_PREFIX = 'TRTPIPE_';

const MIN_MASKED = 4;

/** value -> the variable's name; process-wide: one CLI process loads the pipelines it writes about. */
const taken = new Map<string, string>();

/** Notes that `value` came from the environment variable `name`. */
export function noteEnvValue(name: string, value: string): void {
  if (value.length < MIN_MASKED || /^[-+]?[0-9.eE+-]+$/.test(value) || value === 'true' || value === 'false') return;
  taken.set(value, name);
}

/** `text` with every value taken from the environment replaced by `${NAME}` (longest first). */
export function maskEnvValues(text: string): string {
  if (!taken.size) return text;
  let out = text;
  for (const [value, name] of [...taken].sort((a, b) => b[0].length - a[0].length)) {
    if (out.includes(value)) out = out.split(value).join(`\${${name}}`);
    // In JSON the value may appear escaped (a quote or a backslash in it).
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join(`\${${name}}`);
  }
  return out;
}
