/** Pipeline files named on a command line: files as given, folders searched for *.yaml / *.yml. */
import { readdirSync, statSync } from 'node:fs';
import { PIPELINE_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';

/**
 * Expands folders (recursively, in name order) into the pipeline files they
 * hold. Files named `*.base.yaml` are skipped there: they are partial
 * pipelines, checked through the files that extend them. So are YAML files
 * that are not pipelines at all (a CI workflow beside an example): a pipeline
 * names the pipeline schema on its first line or has a top-level `version:`.
 * Names that do not exist are kept, so the caller reports them.
 */
export function pipelineFiles(args: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules') walk(full);
      else if (entry.isFile() && /\.ya?ml$/.test(entry.name) && !/\.base\.ya?ml$/.test(entry.name) && looksLikePipeline(full)) out.push(full);
    }
  };
  for (const arg of args) {
    let isDir = false;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      // reported by the loader
    }
    if (isDir) walk(arg);
    else out.push(arg);
  }
  return out;
}

function looksLikePipeline(file: string): boolean {
  let text: string;
  try {
    text = readUserText(file, 'pipeline file', PIPELINE_FILE_LIMIT);
  } catch {
    return true; // the loader reports it
  }
  return /pipeline\.schema\.json/.test(text.split('\n', 1)[0] ?? '') || /^version:/m.test(text);
}
