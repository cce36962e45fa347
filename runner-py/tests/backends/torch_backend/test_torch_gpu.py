"""The torch backend on a CUDA GPU. Run with: .venv/bin/python -m pytest runner-py/tests -m gpu"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's GPU tests need it")

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to torch here")]

from trtpipe_runner.backends import get_backend  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.timing.loop import TimingPolicy, measure  # noqa: E402

from .examples_data import EXAMPLES, annotated, cosine, example, int8_qdq  # noqa: E402
from .onnx_graphs import run_ort, run_torch  # noqa: E402


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_on_the_gpu(name, tmp_path):
    model, x, _, calib = example(name)
    (ref,) = run_ort(model, {"input": x})
    (fp32,) = run_torch(model, {"input": x}, device="cuda")
    assert cosine(fp32, ref) > 0.99999  # TF32 off: IEEE fp32
    for precision in ("bf16",) + (("fp16",) if name != "overflow" else ()):
        (got,) = run_torch(annotated(model, precision), {"input": x}, device="cuda")
        assert cosine(got, ref) > 0.999, precision
    (q,) = run_torch(int8_qdq(model, calib, tmp_path), {"input": x}, device="cuda")
    assert cosine(q, ref) > 0.999


def test_fp16_overflow_shows_on_the_gpu():
    model, x, _, _ = example("overflow")
    (ref,) = run_ort(model, {"input": x})
    (got,) = run_torch(annotated(model, "fp16"), {"input": x}, device="cuda")
    assert cosine(got, ref) < 0.9


def test_dtypes_on_the_device():
    from trtpipe_runner.backends.torch.program import Program

    model, x, _, _ = example("transformer")
    program = Program(annotated(model, "fp16"), "cuda")
    program.run([torch.from_numpy(x[:4]).cuda()])
    plan = program.plan_for([torch.zeros(4, 8, 8)])
    assert all(v.device.type == "cuda" for v in program._device_consts.values())
    assert len(plan.steps) < len(program.generic.steps)


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_timing_with_cuda_events(tmp_path, cuda_graph):
    backend = get_backend("torch")
    model, x, _, _ = example("transformer")
    built = backend.build(save(annotated(model, "fp16"), tmp_path / "m.onnx"), tmp_path, {"precision": "fp16"},
                          CancelToken())
    assert built.details["gpu"] and built.details["compute_capability"]
    session = backend.load(built.engine, {"cuda_graph": cuda_graph})
    eager = session.run({"input": x[:16]})["probs"]
    cancel = CancelToken()
    times = measure(session.timer({"input": x[:16]}, cancel), TimingPolicy(3, 0.0, 30, 30.0), cancel).times_ms
    assert len(times) == 30 and min(times) > 0 and session.device() == "cuda:0"
    assert session.timer_name() == ("cuda events (CUDA graph replay)" if cuda_graph else "cuda events (eager)")
    np.testing.assert_array_equal(session.run({"input": x[:16]})["probs"], eager)


def test_tf32_only_for_tf32_cells(tmp_path):
    backend = get_backend("torch")
    path = save(example("digits")[0], tmp_path / "m.onnx")
    x = example("digits")[1][:2]
    backend.load(path, {"precision": "tf32"}).run({"input": x})
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    backend.load(path, {"precision": "fp32"}).run({"input": x})
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32


def test_capabilities_report_the_gpu():
    from trtpipe_runner.capabilities import probe_torch

    info = probe_torch()
    assert info.available and info.details["gpus"][0]["name"] and info.details["gpus"][0]["memory_bytes"] > 0
    assert "fp16" in info.precisions


def test_a_gpu_benchmark_holds_its_gpu_exclusively_and_records_its_state(tmp_path, monkeypatch):
    """Through run-stage: the lease names the GPU by UUID, the state comes from NVML or nvidia-smi."""
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.run_stage import put_copy, run_stage

    from ... import stage_params
    from .examples_data import REPO

    monkeypatch.setenv("TRTPIPE_LEASE_DIR", str(tmp_path / "leases"))
    store = ArtifactStore(tmp_path / "store")
    digits = REPO / "examples" / "digits"
    model, evald = put_copy(store, digits / "model.onnx"), put_copy(store, digits / "eval.npz")
    built, _ = run_stage("build", {"model": model}, stage_params.build(backend="torch"), store)
    bench, _ = run_stage("benchmark", {"engine": built.outputs["engine"].sha256, "eval_data": evald},
                         stage_params.benchmark(backend="torch", batches=[1, 32], iterations=50), store)
    d = bench.details
    exclusive = [lease for lease in bench.leases if lease.exclusive]
    assert [lease.device.split("@")[0][:8] for lease in exclusive] == ["gpu:GPU-"]
    assert d["device"]["kind"] == "gpu" and d["lease"]["device"] == exclusive[0].device
    gpu = d["device"]["before"]["gpu"]
    assert gpu is not None and gpu["source"] in ("nvml", "nvidia-smi") and gpu["uuid"] in exclusive[0].device
    assert "throttle_reasons" in gpu and "temperature_c" in gpu and "sm_clock_mhz" in gpu
    assert all(w["stopped_by"] == "iterations" and w["iterations"] == 50 for w in d["timing"])


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_fused_attention_on_the_gpu(precision):
    """SDPA's CUDA kernels against the unfused graph and the fp32 model."""
    from trtpipe_runner.backends.torch.program import Program

    model, x, _, _ = example("transformer")
    low = annotated(model, precision)
    assert Program(low, "cuda").summary()["fused_attention"] == 2
    (ref,) = run_torch(model, {"input": x}, device="cuda")
    (got,) = run_torch(low, {"input": x}, device="cuda")
    (unfused,) = run_torch(low, {"input": x}, device="cuda", fuse=False)
    assert cosine(got, unfused) > 0.9999 and cosine(got, ref) >= cosine(unfused, ref) - 1e-6


def test_fully_masked_rows_are_zero_on_the_gpu():
    from .test_torch_attention import SelfAttention, export, feeds

    model = export(SelfAttention("sdpa_bool_mask"))
    f = feeds(model)
    f["mask"][1, :] = 0
    (got,) = run_torch(model, f, device="cuda")
    (unfused,) = run_torch(model, f, device="cuda", fuse=False)
    assert np.all(got[1] == 0) and np.isfinite(got).all()
    np.testing.assert_allclose(got, unfused, atol=1e-5)


@pytest.mark.parametrize("kind", ["int8", "fp8"])
@pytest.mark.parametrize("rows", [6, 40], ids=["padded-rows", "plain"])
def test_real_quantized_kernels_on_the_gpu(kind, rows):
    from .test_torch_qgemm import qgemm_model

    if kind == "fp8" and torch.cuda.get_device_capability() < (8, 9):
        pytest.skip("fp8 GEMMs need compute capability 8.9+")
    from trtpipe_runner.backends.torch.program import Program

    model, _ = qgemm_model(kind, "Gemm", n=32)  # K and N multiples of 16: both kernels take it on CUDA
    x = np.random.default_rng(5).standard_normal((rows, 32)).astype(np.float32)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = rows
    assert Program(model, "cuda").summary()["quantized_gemms"] == 1
    (real,) = run_torch(model, {"x": x}, device="cuda")
    (emulated,) = run_torch(model, {"x": x}, device="cuda", fuse=False)
    assert cosine(real, emulated) > 0.99999
    np.testing.assert_allclose(real, emulated, rtol=1e-3, atol=1e-3)


def test_the_example_int8_graph_on_int_mm(tmp_path):
    from trtpipe_runner.backends.torch.program import Program

    from .test_torch_qgemm import fused_with_reasons

    model, x, _, calib = example("transformer")
    q = int8_qdq(model, calib, tmp_path)
    # 10 GEMMs run on _int_mm on the CPU; on CUDA the 10-class head (N=10) stays emulated, saying why.
    assert Program(q, "cuda").summary()["quantized_gemms"] == 9
    _, notes = fused_with_reasons(q, "cuda", torch.cuda.get_device_capability())
    assert notes == {"/head/Gemm": "torch._int_mm on CUDA needs K and N multiples of 8 (K=32, N=10)"}
    (real,) = run_torch(q, {"input": x}, device="cuda")
    (emulated,) = run_torch(q, {"input": x}, device="cuda", fuse=False)
    assert cosine(real, emulated) > 0.99999
