import type { StageGraph, StageNode } from './graph.js';

/** The sub-graph of the nodes `keep` selects plus everything they depend on. */
export function pruneGraph(graph: StageGraph, keep: (n: StageNode) => boolean): StageGraph {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const wanted = new Set<string>();
  const visit = (id: string) => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const d of byId.get(id)!.deps) visit(d);
  };
  for (const n of graph.nodes) if (keep(n)) visit(n.id);
  return { cells: graph.cells, nodes: graph.nodes.filter((n) => wanted.has(n.id)) };
}
