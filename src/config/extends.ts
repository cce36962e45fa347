/**
 * `extends: <base.yaml>`: a pipeline inherits from a base file (which may
 * extend another). The chain is read base-first and merged with mergeTrees;
 * each file's `${VAR}`s are resolved as it is read, and every value keeps the
 * file it came from. Cycles are rejected with the chain that closes them.
 */
import { existsSync, statSync } from 'node:fs';
import { PIPELINE_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import { type Diagnostic, showPath } from './diagnostics.js';
import type { Env } from './interpolate.js';
import { parseSource, type SourceFile } from './source.js';
import { buildTree, mergeTrees, type TreeNode } from './tree.js';

/** Longer chains are almost certainly a mistake (and bound the work). */
export const MAX_EXTENDS_DEPTH = 8;

export interface ChainResult {
  /** The merged tree; absent when a file could not be parsed or extended. */
  tree?: TreeNode;
  /** Every file read, the pipeline itself first. */
  files: SourceFile[];
  diagnostics: Diagnostic[];
}

/**
 * Reads `text` (the file at `absolute`) and everything it extends.
 * @param display the file's name for messages
 * @param cwd base files are named relative to it in messages
 */
export function loadChain(text: string, absolute: string, display: string, env: Env, cwd: string): ChainResult {
  const files: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];

  const load = (text: string, absolute: string, display: string, chain: string[]): TreeNode | undefined => {
    const { source, errors } = parseSource(text, display, absolute);
    files.push(source);
    diagnostics.push(...errors);
    if (errors.some((e) => e.severity === 'error')) return undefined;
    const built = buildTree(source, env);
    diagnostics.push(...built.diagnostics);
    const tree = built.tree;
    // Problems inside values (an unset ${VAR}, a bad key) do not stop the
    // schema check, so the user sees every error at once; a runaway alias does.
    if (!tree || built.diagnostics.some((d) => d.code === 'too-large')) return undefined;
    if (tree.kind !== 'map') {
      const pos = source.lines.linePos(tree.origin.offset);
      diagnostics.push({
        severity: 'error', code: 'not-a-mapping', file: display, line: pos.line, col: pos.col, path: '',
        message: tree.kind === 'scalar' && tree.value === null ? 'the file is empty' : 'a pipeline file must be a YAML mapping (key: value pairs)',
        hint: 'start from `trtpipe init <model.onnx>`',
      });
      return undefined;
    }
    const ext = tree.entries.get('extends');
    if (!ext) return tree;
    const own: TreeNode = { ...tree, entries: new Map([...tree.entries].filter(([k]) => k !== 'extends')) };
    const fail = (message: string, hint?: string) => {
      const pos = source.lines.linePos(ext.origin.offset);
      diagnostics.push({ severity: 'error', code: 'extends', file: display, line: pos.line, col: pos.col, path: 'extends', message, ...(hint ? { hint } : {}) });
      return undefined;
    };
    if (ext.kind !== 'scalar' || typeof ext.value !== 'string' || ext.value === '') {
      return fail('must be the path of a base pipeline file', 'write extends: ../base.yaml (relative to this file)');
    }
    const base = path.resolve(path.dirname(absolute), ext.value);
    const baseDisplay = showPath(cwd, base);
    const here = [...chain, absolute];
    if (here.includes(base)) {
      const names = [...here.slice(here.indexOf(base)), base].map((f) => showPath(cwd, f));
      return fail(`extends form a cycle: ${names.join(' -> ')}`, 'remove one of these extends');
    }
    if (here.length > MAX_EXTENDS_DEPTH) {
      return fail(`more than ${MAX_EXTENDS_DEPTH} levels of extends`, 'extend a file that extends fewer others');
    }
    let baseText: string;
    try {
      if (existsSync(base) && statSync(base).isDirectory()) return fail(`${baseDisplay} is a folder`, 'name a pipeline .yaml file');
      baseText = readUserText(base, 'base file', PIPELINE_FILE_LIMIT, baseDisplay);
    } catch (err) {
      return fail((err as Error).message, 'the path is relative to this file');
    }
    const baseTree = load(baseText, base, baseDisplay, here);
    return baseTree ? mergeTrees(baseTree, own) : undefined;
  };

  const tree = load(text, absolute, display, []);
  return { ...(tree ? { tree } : {}), files, diagnostics };
}
