"""PyTorch backend: runs the precision-annotated ONNX graph on a CUDA GPU in its own dtypes.

The converter here is trtpipe's own (see docs/decisions.md for why not
onnx2torch): `graph.py` reads the model, `fold.py` evaluates what is constant,
`fusion.py` merges a few patterns into single kernels, `program.py` turns the
rest into a flat list of steps and Python code that runs them, `ops/` holds one
file per op family. `torch` is imported only inside this folder.
"""
