#!/usr/bin/env python3
"""Which int8 Q/DQ forms around a convolution TensorRT builds, strongly typed, next to fp16 layers
(issue 23: ResNet-50 int8 with fp16 leftovers failed on TensorRT 10.6 with "No supported formats
for .../conv1/Conv/weight + Conv + Relu"). One command on a host with TensorRT, about a minute:

    source $HOME/trt/env.sh && python3 bench/gpu_trt_qdq_forms.py [--out $OUT]

Each case is one Conv + Relu at batch 32, its input coming in as fp16 (as from an fp16 neighbour):
  fp16-scales    Q/DQ with fp16 scales, the Conv in fp16 (the transform's precision.unquantized: fp16 at opset 19)
  fp16-nobias    the same without the Conv's bias
  fp32-casts     Cast to fp32, Q/DQ with fp32 scales, the Conv in fp32, Cast back to fp16 (opset 17)
  fp32           everything fp32 (the input too): the form that builds today (control)
for the stem convolution (3 -> 64, 7x7, stride 2: ResNet's first layer), a 3x3 64 -> 64 and a 1x1
64 -> 256. Prints built or the error, the layer precisions TensorRT chose and the latency.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONVS = {"stem 3->64 7x7/2": (3, 64, 7, 2, 224), "3x3 64->64": (64, 64, 3, 1, 56), "1x1 64->256": (64, 256, 1, 1, 56)}
FORMS = ("fp16-scales", "fp16-nobias", "fp32-casts", "fp32")
BATCH = 32


def conv_model(cin: int, cout: int, k: int, stride: int, hw: int, form: str) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    f16 = form in ("fp16-scales", "fp16-nobias")
    act = TensorProto.FLOAT if form == "fp32" else TensorProto.FLOAT16
    inner = TensorProto.FLOAT16 if f16 else TensorProto.FLOAT
    np_inner = np.float16 if f16 else np.float32
    w = rng.standard_normal((cout, cin, k, k)).astype(np.float32) * 0.05
    w_scale = (np.abs(w).reshape(cout, -1).max(axis=1) / 127).astype(np.float32)
    w_q = np.clip(np.rint(w / w_scale[:, None, None, None]), -127, 127).astype(np.int8)
    inits = [numpy_helper.from_array(w_q, "w_q"), numpy_helper.from_array(w_scale.astype(np_inner), "w_s"),
             numpy_helper.from_array(np.zeros(cout, np.int8), "w_zp"),
             numpy_helper.from_array(np.array(0.02, np_inner), "x_s"),
             numpy_helper.from_array(np.array(0, np.int8), "x_zp"),
             numpy_helper.from_array((rng.standard_normal(cout) * 0.1).astype(np_inner), "b")]
    nodes = []
    x = "x"
    if form == "fp32-casts":
        nodes.append(helper.make_node("Cast", ["x"], ["x32"], to=TensorProto.FLOAT))
        x = "x32"
    nodes += [helper.make_node("QuantizeLinear", [x, "x_s", "x_zp"], ["xq"]),
              helper.make_node("DequantizeLinear", ["xq", "x_s", "x_zp"], ["xd"]),
              helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_zp"], ["wd"], axis=0),
              helper.make_node("Conv", ["xd", "wd"] + ([] if form == "fp16-nobias" else ["b"]), ["c"],
                               kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)]
    y = "c"
    if form == "fp32-casts":
        nodes.append(helper.make_node("Cast", ["c"], ["c16"], to=TensorProto.FLOAT16))
        y = "c16"
    nodes.append(helper.make_node("Relu", [y], ["y"]))
    out_hw = (hw + 2 * (k // 2) - k) // stride + 1
    graph = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", act, [BATCH, cin, hw, hw])],
                              [helper.make_tensor_value_info("y", act, [BATCH, cout, out_hw, out_hw])], inits)
    opset = 19 if f16 else 17
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def build(trt, model: onnx.ModelProto) -> dict:
    errors: list[str] = []

    class Capture(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, severity, msg):
            if severity <= trt.ILogger.Severity.ERROR:
                errors.append(msg)
    logger = Capture()
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model.SerializeToString()):
        return {"built": False, "error": "parse: " + parser.get_error(0).desc()}
    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.clear_flag(trt.BuilderFlag.TF32)
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        return {"built": False, "error": " | ".join(errors[-2:])[:400]}
    row = {"built": True, "build_s": round(time.perf_counter() - t0, 2)}
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(plan)
    info = json.loads(engine.create_engine_inspector().get_engine_information(trt.LayerInformationFormat.JSON))
    row["layers"] = [f"{layer.get('Name', '?')[:50]}: {layer.get('LayerType', '?')} "
                     f"{[i.get('Format/Datatype', '') for i in layer.get('Inputs', [])][:1]} -> "
                     f"{[o.get('Format/Datatype', '') for o in layer.get('Outputs', [])][:1]}"
                     for layer in info.get("Layers", []) if isinstance(layer, dict)]
    row["p50_ms"] = latency(engine)
    return row


def latency(engine) -> float:
    import torch

    ctx = engine.create_execution_context()
    buffers = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        dtype = {"DataType.FLOAT": torch.float32, "DataType.HALF": torch.float16}[str(engine.get_tensor_dtype(name))]
        t = torch.zeros(tuple(engine.get_tensor_shape(name)), dtype=dtype, device="cuda")
        buffers.append(t)
        ctx.set_tensor_address(name, t.data_ptr())
    stream = torch.cuda.Stream()
    times = []
    for i in range(60):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        ctx.execute_async_v3(stream.cuda_stream)
        end.record(stream)
        end.synchronize()
        if i >= 10:
            times.append(start.elapsed_time(end))
    return round(float(np.median(times)), 4)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import tensorrt as trt

    rows = []
    for conv, dims in CONVS.items():
        for form in FORMS:
            row = {"conv": conv, "form": form, **build(trt, conv_model(*dims, form))}
            rows.append(row)
            status = f"built, p50 {row['p50_ms']:.4f} ms" if row["built"] else f"FAILED: {row['error']}"
            print(f"{conv:18s} {form:12s} {status}")
            for layer in row.get("layers", []):
                print(f"    {layer}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_trt_qdq_forms.json").write_text(json.dumps({"tensorrt": trt.__version__, "rows": rows},
                                                                    indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
