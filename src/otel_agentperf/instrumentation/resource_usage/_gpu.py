"""GPU gauges through NVML (``nvidia-ml-py``), present only when it imports and finds a GPU."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

from otel_agentperf import semconv


def gpu_callbacks() -> dict[str, Callable[[CallbackOptions], Iterable[Observation]]]:
    """Callbacks for ``hw.gpu.utilization``, ``hw.gpu.memory.usage`` and ``hw.gpu.memory.limit``; empty without GPU."""
    try:
        import pynvml  # noqa: PLC0415 - optional

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # noqa: BLE001 - no library, no driver or no GPU: no GPU gauges
        return {}
    if not handles:
        return {}

    def observe(read: Callable[[Any], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            observations = []
            for index, handle in enumerate(handles):
                try:
                    observations.append(Observation(read(handle), {semconv.HW_ID: str(index), semconv.HW_TYPE: "gpu"}))
                except Exception:  # noqa: BLE001, S112 - a GPU that cannot be read is left out
                    continue
            return observations

        return callback

    return {
        semconv.HW_GPU_UTILIZATION: observe(lambda handle: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100),
        semconv.HW_GPU_MEMORY_USAGE: observe(lambda handle: pynvml.nvmlDeviceGetMemoryInfo(handle).used),
        semconv.HW_GPU_MEMORY_LIMIT: observe(lambda handle: pynvml.nvmlDeviceGetMemoryInfo(handle).total),
    }
