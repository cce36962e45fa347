"""A loaded torch Program as a backend Session: run on host arrays, time on the device."""
from __future__ import annotations

import numpy as np

from ...cancel import CancelToken
from ...errors import UserError
from ...model.tensors import TensorSpec
from ..base import Session
from .dtypes import from_numpy, to_numpy
from .program import Program
from .settings import TorchSettings, set_tf32
from .timing import CudaEventTimer, capture_graph


class TorchSession(Session):
    def __init__(self, program: Program, settings: TorchSettings):
        self.program = program
        self.settings = settings
        self._timer = "host perf_counter" if program.device.type == "cpu" else "cuda events"

    def inputs(self) -> list[TensorSpec]:
        return list(self.program.graph.inputs)

    def output_names(self) -> list[str]:
        return list(self.program.graph.outputs)

    def _device_feeds(self, feeds: dict[str, np.ndarray]) -> list:
        missing = [n for n in self.program.input_names if n not in feeds]
        if missing:
            raise UserError(f"no value for model input(s) {', '.join(missing)}", code="DATA_INPUT_MISSING",
                            input=missing[0])
        device = self.program.device
        return [from_numpy(np.asarray(feeds[n])).to(device) for n in self.program.input_names]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        set_tf32(self.settings.tf32)
        tensors = self._device_feeds(feeds)
        with torch.inference_mode():
            outs = self.program.run(tensors)
        return {name: to_numpy(o) for name, o in zip(self.program.graph.outputs, outs)}

    def timer(self, feeds: dict[str, np.ndarray], cancel: CancelToken):
        """CUDA-event timer with the inputs already on the device; replays a CUDA graph when
        the `cuda_graph` setting is on. On a CPU device: the host clock."""
        import torch

        if self.program.device.type == "cpu":
            return super().timer(feeds, cancel)
        set_tf32(self.settings.tf32)
        tensors = self._device_feeds(feeds)
        torch.cuda.synchronize(self.program.device)
        stream = torch.cuda.Stream(self.program.device)
        program = self.program

        def step():
            return program.run(tensors)

        fn = step
        self._timer = "cuda events (eager)"
        if self.settings.cuda_graph:
            with torch.inference_mode(), torch.cuda.device(program.device):
                with torch.cuda.stream(stream):
                    step()  # specializes the plan to these shapes before capture
                try:
                    fn, _ = capture_graph(step, stream)
                except RuntimeError as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise UserError(f"this model cannot be captured in a CUDA graph ({first}); set cuda_graph: "
                                    "false in the target's settings", code="CUDA_GRAPH_FAILED") from None
            self._timer = "cuda events (CUDA graph replay)"
        return CudaEventTimer(fn, stream, program.device, cancel)

    def device(self) -> str:
        d = self.program.device
        return "cpu" if d.type == "cpu" else f"cuda:{d.index if d.index is not None else 0}"

    def threads(self) -> dict:
        import torch

        return {"torch_threads": torch.get_num_threads()} if self.program.device.type == "cpu" else {}

    def timer_name(self) -> str:
        return self._timer

    def close(self) -> None:
        self.program = None  # drop device tensors with the last reference
