/**
 * A compact picture of a model graph, one small square per ONNX node coloured
 * by the precision it ran in. Layout: longest-path layering from the inputs
 * (a node sits one layer right of its latest producer), nodes within a layer
 * ordered by their producers' positions, layers wrapped into rows that run
 * alternately left-to-right and right-to-left, so a 200-node chain becomes a
 * few rows instead of one 3000-pixel line and consecutive rows join at their
 * ends. Names are in hover titles; the table beside it has the details.
 */
import type { GraphNode } from './record-view.js';
import { esc, num } from './xml.js';

export interface NodePlacement {
  layer: number;
  /** Position within the layer (0 = top). */
  slot: number;
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: NodePlacement[];
  /** [producer index, consumer index] */
  edges: [number, number][];
  width: number;
  height: number;
  /** Glyph size (px). */
  size: number;
}

/** Producer -> consumer edges through tensors; graph inputs and initializers have no producer. */
export function graphEdges(nodes: GraphNode[]): [number, number][] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((t) => t && producer.set(t, i)));
  const edges: [number, number][] = [];
  nodes.forEach((n, i) => {
    const seen = new Set<number>();
    for (const t of n.inputs) {
      const p = t ? producer.get(t) : undefined;
      if (p !== undefined && p !== i && !seen.has(p)) {
        seen.add(p);
        edges.push([p, i]);
      }
    }
  });
  return edges;
}

/** Layers by longest path; sources pulled right next to their first consumer (Constant nodes). */
export function assignLayers(count: number, edges: [number, number][]): number[] {
  const preds: number[][] = Array.from({ length: count }, () => []);
  const succs: number[][] = Array.from({ length: count }, () => []);
  for (const [p, c] of edges) {
    preds[c]!.push(p);
    succs[p]!.push(c);
  }
  // Kahn's order; ONNX graphs are topologically sorted, but a record may not be.
  const indegree = preds.map((p) => p.length);
  const queue = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  const order: number[] = [];
  for (let k = 0; k < queue.length; k++) {
    const n = queue[k]!;
    order.push(n);
    for (const s of succs[n]!) if (--indegree[s]! === 0) queue.push(s);
  }
  const placed = new Set(order);
  for (let i = 0; i < count; i++) if (!placed.has(i)) order.push(i); // a cycle: keep file order
  const layer = new Array<number>(count).fill(0);
  for (const n of order) for (const p of preds[n]!) if (placed.has(n)) layer[n] = Math.max(layer[n]!, layer[p]! + 1);
  for (let i = 0; i < count; i++) {
    if (preds[i]!.length === 0 && succs[i]!.length > 0) layer[i] = Math.max(0, Math.min(...succs[i]!.map((s) => layer[s]!)) - 1);
  }
  // Pulling sources can empty a layer: renumber densely so no column stays blank.
  const dense = new Map([...new Set(layer)].sort((a, b) => a - b).map((l, k) => [l, k]));
  return layer.map((l) => dense.get(l)!);
}

export function layoutGraph(nodes: GraphNode[], opts: { maxWidth?: number } = {}): GraphLayout {
  const edges = graphEdges(nodes);
  const layer = assignLayers(nodes.length, edges);
  const size = nodes.length <= 60 ? 16 : 10;
  const step = size + (nodes.length <= 60 ? 8 : 4);
  const margin = 6;
  const maxWidth = opts.maxWidth ?? 880;
  const layers: number[][] = [];
  layer.forEach((l, i) => (layers[l] ??= []).push(i));
  // Order each layer by the mean slot of its producers (one barycentre sweep).
  const preds: number[][] = Array.from({ length: nodes.length }, () => []);
  for (const [p, c] of edges) preds[c]!.push(p);
  const slot = new Array<number>(nodes.length).fill(0);
  for (const members of layers) {
    if (!members) continue;
    const key = (i: number) => (preds[i]!.length ? preds[i]!.reduce((s, p) => s + slot[p]!, 0) / preds[i]!.length : Number.POSITIVE_INFINITY);
    members.sort((a, b) => key(a) - key(b) || a - b);
    members.forEach((n, k) => (slot[n] = k));
  }
  const perRow = Math.max(1, Math.floor((maxWidth - 2 * margin) / step));
  const rows = Math.max(1, Math.ceil(layers.length / perRow));
  const rowTops: number[] = [];
  const rowSlots: number[] = [];
  let y = margin;
  for (let r = 0; r < rows; r++) {
    const tall = Math.max(1, ...layers.slice(r * perRow, (r + 1) * perRow).map((m) => m?.length ?? 0));
    rowTops.push(y);
    rowSlots.push(tall);
    y += tall * step + step;
  }
  const columns = Math.min(perRow, layers.length);
  const placements: NodePlacement[] = nodes.map((_, i) => {
    const l = layer[i]!;
    const row = Math.floor(l / perRow);
    const col = row % 2 === 0 ? l % perRow : perRow - 1 - (l % perRow);
    const height = layers[l]!.length;
    const offset = ((rowSlots[row]! - height) * step) / 2;
    return { layer: l, slot: slot[i]!, x: margin + col * step, y: rowTops[row]! + offset + slot[i]! * step };
  });
  return { nodes: placements, edges, width: margin * 2 + (columns - 1) * step + size, height: y - step + margin, size };
}

export interface NodeStyle {
  color: string;
  /** Drawn with a dark outline: the node did not run as the lockfile resolved it. */
  flagged: boolean;
  title: string;
}

/** The picture: edges as one path under the node squares. */
export function graphSvg(nodes: GraphNode[], style: (node: GraphNode, index: number) => NodeStyle, label: string): string {
  if (!nodes.length) return '<p class="muted">No graph in this record (the inspect stage did not run).</p>';
  const g = layoutGraph(nodes);
  const half = g.size / 2;
  let d = '';
  for (const [p, c] of g.edges) {
    const a = g.nodes[p]!;
    const b = g.nodes[c]!;
    d += `M${num(a.x + half)} ${num(a.y + half)}L${num(b.x + half)} ${num(b.y + half)}`;
  }
  const parts = [
    `<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${num(g.width)} ${num(g.height)}" width="${num(g.width)}" height="${num(g.height)}" role="img" aria-label="${esc(label)}">`,
    `<path d="${d}" fill="none" stroke="#8a8a8a" stroke-width="0.8" stroke-opacity="0.7"/>`,
  ];
  nodes.forEach((n, i) => {
    const s = style(n, i);
    const p = g.nodes[i]!;
    const outline = s.flagged ? ' stroke="#111" stroke-width="2"' : ' stroke="#fff" stroke-width="0.5"';
    parts.push(`<rect class="node" x="${num(p.x)}" y="${num(p.y)}" width="${g.size}" height="${g.size}" rx="2" fill="${esc(s.color)}"${outline}><title>${esc(s.title)}</title></rect>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
