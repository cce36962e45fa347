"""One Builder per runner process, lent to each build in turn (builder_pool.py), on the TensorRT double."""
from __future__ import annotations

import threading

import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.backends.tensorrt import builder_pool
from trtpipe_runner.backends.tensorrt.probe import probe
from trtpipe_runner.errors import UserError

from .fake_tensorrt import install_fake
from .helpers import annotated
from .test_trt_double import build


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "store")


@pytest.fixture
def trt(monkeypatch):
    """The double, with every Builder it creates counted; no Builder idle at the start or end."""
    builder_pool.discard()
    trt = install_fake(monkeypatch, "10.6.0")
    made = trt.Builder
    trt.created = []
    trt.Builder = lambda logger: trt.created.append(made(logger)) or trt.created[-1]
    yield trt
    builder_pool.discard()


def test_builds_share_one_builder(trt, store, tmp_path):
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    first = build(store, tmp_path, model, precision="fp16", max_batch=32)
    second = build(store, tmp_path, model, precision="fp32", max_batch=32)
    assert len(trt.created) == 1 and builder_pool.idle_builder(trt) is trt.created[0]
    assert first.metrics["builder_seconds"] >= 0 and second.metrics["builder_seconds"] >= 0


def test_the_probes_builder_serves_the_first_build(trt, store, tmp_path):
    assert probe(gpus=lambda: [], import_trt=lambda: trt, driver_check=lambda: "")["available"]
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    build(store, tmp_path, model, precision="fp16", max_batch=32)
    assert len(trt.created) == 1


def test_a_failed_build_gives_its_builder_up(monkeypatch, store, tmp_path):
    builder_pool.discard()
    trt = install_fake(monkeypatch, "10.6.0", parser_rejects={"Softmax"})
    model, _ = annotated("digits", {"default": "fp16"})
    with pytest.raises(UserError):
        build(store, tmp_path, model, precision="fp16")
    assert builder_pool.idle_builder(trt) is None


def test_the_logger_follows_the_build_that_holds_the_builder(trt):
    said_a, said_b = [], []
    warning, error = trt.ILogger.Severity.WARNING, trt.ILogger.Severity.ERROR
    with builder_pool.lent_builder(trt, lambda m, level="info": said_a.append(m)) as (_, logger):
        logger.log(error, "first build's error")
    with builder_pool.lent_builder(trt, lambda m, level="info": said_b.append(m)) as (_, again):
        assert again is logger and again.errors == []  # the last build's errors are not this one's
        logger.log(warning, "second build's warning")
    logger.log(warning, "between builds")  # nobody holds the Builder: nobody hears it
    assert said_a == ["TensorRT: first build's error"] and said_b == ["TensorRT: second build's warning"]


def test_concurrent_builds_get_builders_of_their_own(trt):
    inside, release = threading.Barrier(3), threading.Event()  # the barrier: both builds and this test
    held = []

    def lend():
        with builder_pool.lent_builder(trt) as (builder, _):
            held.append(builder)
            inside.wait(5)
            release.wait(5)

    threads = [threading.Thread(target=lend) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait(5)
    release.set()
    for t in threads:
        t.join(5)
    assert len(trt.created) == 2 and held[0] is not held[1]
    assert builder_pool.idle_builder(trt) in held  # one is kept, the other dropped
