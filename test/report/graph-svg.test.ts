/** The graph picture's layout: edges from tensors, layering, wrapping, size. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignLayers, graphEdges, graphSvg, layoutGraph } from '../../src/report/graph-svg.js';
import type { GraphNode } from '../../src/report/record-view.js';
import { syntheticGraph } from '../helpers/synthetic-record.js';

const node = (name: string, inputs: string[], outputs = [`${name}_out`]): GraphNode => ({ name, op: 'Add', inputs, outputs });

test('edges follow tensors; initializers and graph inputs make none', () => {
  const nodes = [node('a', ['input', 'w']), node('b', ['a_out']), node('c', ['a_out', 'b_out', 'a_out'])];
  assert.equal(graphEdges(nodes), [[0, 1], [0, 2], [1, 2]]);
  assert.equal(assignLayers(3, graphEdges(nodes)), [0, 1, 2]);
});

test('a Constant feeding a late node sits just before it, not in the first column', () => {
  const nodes = [node('a', ['input']), node('b', ['a_out']), node('c', ['b_out']), node('k', [], ['k_out']), node('d', ['c_out', 'k_out'])];
  assert.equal(assignLayers(5, graphEdges(nodes)), [0, 1, 2, 2, 3]);
});

test('every edge goes to a later layer; a 200-node model wraps into rows within the width', () => {
  const nodes = syntheticGraph(200);
  const g = layoutGraph(nodes, { maxWidth: 880 });
  for (const [p, c] of g.edges) assert.ok(g.nodes[p]!.layer < g.nodes[c]!.layer, `${nodes[p]!.name} -> ${nodes[c]!.name}`);
  assert.ok(g.width <= 880, `width ${g.width}`);
  assert.ok(g.height < 600, `height ${g.height}`);
  // No two nodes on one spot.
  assert.is(new Set(g.nodes.map((n) => `${n.x},${n.y}`)).size, 200);
  const svg = graphSvg(nodes, (n) => ({ color: '#E69F00', flagged: n.op === 'Softmax', title: n.name }), 'test');
  assert.is((svg.match(/<rect class="node"/g) ?? []).length, 200);
  assert.ok(svg.length < 40_000, `svg ${svg.length} bytes`);
});

test('a cycle in a broken record still lays out', () => {
  const nodes = [node('a', ['b_out']), node('b', ['a_out'])];
  assert.is(layoutGraph(nodes).nodes.length, 2);
});

test.run();
