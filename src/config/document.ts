/**
 * A loaded pipeline document: the merged tree (with origins), its plain value,
 * and the means to turn any key path back into file:line:col in the file the
 * value came from, which is a base file for inherited values.
 */
import path from 'node:path';
import { type Diagnostic, formatPath, type KeyPath } from './diagnostics.js';
import { type Origin, type TreeNode, toValue } from './tree.js';

export interface Located {
  origin: Origin;
  /** True when `path` exists; otherwise `origin` is its deepest existing parent. */
  exact: boolean;
}

export class PipelineDocument {
  readonly value: Record<string, unknown>;

  constructor(readonly root: TreeNode) {
    this.value = toValue(root) as Record<string, unknown>;
  }

  /**
   * Where the value at `path` is written; with `key`, where its mapping key
   * is (for unknown or misplaced keys). Falls back to the deepest existing
   * parent (a missing key is reported at the mapping that lacks it).
   */
  locate(path: KeyPath, key = false): Located {
    let node = this.root;
    for (const seg of path) {
      const next =
        node.kind === 'map' ? node.entries.get(String(seg)) : node.kind === 'seq' && typeof seg === 'number' ? node.items[seg] : undefined;
      if (!next) return { origin: key && node.keyOrigin ? node.keyOrigin : node.origin, exact: false };
      node = next;
    }
    return { origin: key && node.keyOrigin ? node.keyOrigin : node.origin, exact: true };
  }

  /** The folder of the file the value at `path` was written in (relative paths resolve from it). */
  dirOf(path: KeyPath): string {
    return pathDir(this.locate(path).origin.source.absolute);
  }
}

const pathDir = (file: string) => path.dirname(file);

/** A diagnostic about the value at `path` (or its key, with `key: true`). */
export function at(
  doc: PipelineDocument,
  path: KeyPath,
  code: string,
  message: string,
  hint?: string,
  opts: { key?: boolean; severity?: 'error' | 'warning' } = {},
): Diagnostic {
  const { origin } = doc.locate(path, opts.key ?? false);
  const pos = origin.source.lines.linePos(origin.offset);
  return {
    severity: opts.severity ?? 'error',
    code,
    file: origin.source.display,
    line: pos.line,
    col: pos.col,
    path: formatPath(path),
    message,
    ...(hint ? { hint } : {}),
  };
}
