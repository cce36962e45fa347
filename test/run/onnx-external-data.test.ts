/** Finding external data in an .onnx without onnx: tensors in subgraphs and attributes too. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { externalTensors } from '../../src/run/onnx-external-data.js';
import { resolvePython } from '../../src/runner-client/local-runner.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

test('initializers of a subgraph and a Constant node\'s tensor are found; inline weights are not', () => {
  const file = path.join(tempDir(), 'nested.onnx');
  // An If whose branch holds an initializer, and a Constant whose value attribute is a tensor: both external.
  execFileSync(resolvePython(), ['-c', `
import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
def external(name, location):
    t = numpy_helper.from_array(np.ones(4, np.float32), name)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        t.external_data.add(key=k, value=v)
    return t
out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
branch = helper.make_graph([helper.make_node("Identity", ["B"], ["y"])], "then", [], [out], [external("B", "branch.bin")])
const = helper.make_node("Constant", [], ["c"], value=external("C", "data/const.bin"))
node = helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)
g = helper.make_graph([const, node], "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])], [out],
                      [numpy_helper.from_array(np.zeros(8, np.float32), "inline")])
open(sys.argv[1], "wb").write(helper.make_model(g).SerializeToString())
`, file]);
  const found = externalTensors(file).sort((a, b) => a.tensor.localeCompare(b.tensor));
  assert.equal(found, [
    { tensor: 'B', location: 'branch.bin' },
    { tensor: 'B', location: 'branch.bin' },
    { tensor: 'C', location: 'data/const.bin' },
  ]);
});

test('a model without external data, and a file that is not ONNX, have none', () => {
  assert.equal(externalTensors(path.join(EXAMPLES, 'digits', 'model.onnx')), []);
  const junk = path.join(tempDir(), 'junk.onnx');
  writeFileSync(junk, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
  assert.equal(externalTensors(junk), []);
});

test.run();
