/**
 * `${VAR}` and `${VAR:-default}` in string values, shell style: `:-` uses the
 * default when the variable is unset or empty; `$${` is a literal `${`. An
 * unset variable without a default is an error, never an empty string: a
 * silently empty path or address fails much later and much less clearly.
 * Only variables named TRTPIPE_* are read (env-values.ts): a pipeline file from
 * a pull request must not be able to copy CI secrets into uploaded reports.
 */
import { ENV_PREFIX, noteEnvValue } from './env-values.js';

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationError {
  /** The `${...}` text as written (for locating it in the source). */
  needle: string;
  message: string;
  hint: string;
}

export interface Interpolated {
  value: string;
  /** True when at least one `${...}` or `$${` was replaced. */
  changed: boolean;
  errors: InterpolationError[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, env: Env): Interpolated {
  if (!text.includes('${')) return { value: text, changed: false, errors: [] };
  let out = '';
  const errors: InterpolationError[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      errors.push({
        needle: text.slice(dollar),
        message: `'${text.slice(dollar)}' is not closed`,
        hint: 'close it with }, or write $${ for a literal ${',
      });
      out += text.slice(dollar);
      break;
    }
    const body = text.slice(dollar + 2, close);
    const needle = text.slice(dollar, close + 1);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    const fallback = sep < 0 ? undefined : body.slice(sep + 2);
    if (NAME.test(name) && !name.startsWith(ENV_PREFIX)) {
      errors.push({
        needle,
        message: `'${needle}': only environment variables whose names start with ${ENV_PREFIX} are read`,
        hint: `export ${ENV_PREFIX}${name} and write \${${ENV_PREFIX}${name}} (other variables, CI secrets among them, stay out of pipelines and their reports)`,
      });
    } else if (!NAME.test(name)) {
      errors.push({
        needle,
        message: `'${needle}' does not name a variable`,
        hint: 'write ${NAME} or ${NAME:-default} with NAME made of letters, digits and _, or $${ for a literal ${',
      });
    } else {
      const value = env[name];
      if (value !== undefined && (value !== '' || fallback === undefined)) {
        out += value;
        noteEnvValue(name, value);
      } else if (fallback !== undefined) out += fallback;
      else {
        errors.push({
          needle,
          message: `environment variable ${name} is not set`,
          hint: `set it, or give a default: \${${name}:-value}`,
        });
      }
    }
    i = close + 1;
  }
  return { value: out, changed: true, errors };
}

/**
 * An interpolated value that reads as a number or true/false becomes one
 * (`iterations: ${N:-100}` is the number 100), the way YAML types plain
 * scalars. Only numbers and booleans, never null or structures: an empty
 * variable stays an empty string, and is reported as such.
 */
export function retype(value: string): string | number | boolean {
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(value)) return Number(value);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}
