"""Small ONNX graphs built with onnx.helper, and running them on ONNX Runtime CPU."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32 = TensorProto.FLOAT


def single_node_model(op: str, inputs: dict[str, np.ndarray], attrs: dict | None = None, *,
                      initializers: dict[str, np.ndarray] | None = None, outputs: int = 1, opset: int = 17,
                      input_order: list[str] | None = None) -> onnx.ModelProto:
    """One `op` node; `inputs` become graph inputs, `initializers` constant inputs.

    Node input order is `input_order` (names; "" for an absent optional input),
    by default the graph inputs then the initializers.
    """
    initializers = initializers or {}
    order = input_order or list(inputs) + list(initializers)
    node = helper.make_node(op, order, [f"y{i}" for i in range(outputs)], name=f"{op.lower()}_node", **(attrs or {}))
    graph = helper.make_graph(
        [node], f"{op}_test",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(f"y{i}", TensorProto.UNDEFINED, None) for i in range(outputs)],
        [numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    onnx.checker.check_model(model, full_check=True)
    return model


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray], optimize: bool = False) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_torch(model: onnx.ModelProto, feeds: dict[str, np.ndarray], fuse: bool = True, device: str = "cpu",
              repeat: int = 2) -> list[np.ndarray]:
    """Runs the torch Program `repeat` times (generic plan, then the specialized one) and
    checks both runs agree; returns the last run's outputs as numpy."""
    import torch

    from trtpipe_runner.backends.torch.dtypes import from_numpy, to_numpy
    from trtpipe_runner.backends.torch.program import Program

    program = Program(model, device, fuse)
    tensors = [from_numpy(feeds[n]).to(device) for n in program.input_names]
    results = []
    with torch.inference_mode():
        for _ in range(repeat):
            results.append([to_numpy(o) for o in program.run(tensors)])
    for a, b in zip(results[0], results[-1]):
        np.testing.assert_array_equal(a, b, err_msg="generic and specialized plans disagree")
    return results[-1]
