"""TensorRT backend (10.x and 11.x): strongly typed builds of the annotated model.

Role files, in the order a build walks through them:
- version.py: which TensorRT is installed and what that major version allows;
- settings.py, profiles.py: the target's build settings, validated, and the
  optimization profiles derived from them (pure, unit-tested without TensorRT);
- config.py: those settings applied to a TensorRT builder config;
- timing_cache.py: timing caches persisted per target identity;
- loader.py: NetworkFromOnnx / EngineFromNetwork, the steps that touch TensorRT;
- container.py: the stored artifact (serialized engine + JSON sidecar);
- inspector.py, layer_map.py, explain.py: engine inspector JSON -> ONNX nodes
  -> realized precision per node with reason codes;
- cuda_api.py, runtime.py: device memory, streams, CUDA events, graph replay;
- backend.py: `create()`, the Backend the stages call.

`tensorrt` is imported only inside functions of this folder, so the runner
starts (and says why TensorRT is missing) on machines without it.
"""
