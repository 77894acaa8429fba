"""Per-reading latency and peak memory of the rain model's backends.

Each backend runs in a fresh subprocess: it loads the model (the Lambda's ``load_backend`` for
``tflite``, ``tensorflow`` and ``auto``; for ``numpy`` a forward pass of the same weights, read
from the SavedModels' variables), times the full pipeline (standardise and predict) on one
reading, and reports the median over ``--calls`` calls and its peak memory (VmHWM on Linux,
see :func:`peak_mb`) after loading and running. The parent stays light anyway (no
TensorFlow: the weights are exported by a subprocess too).
Target: ``auto`` at most 50 us per reading and 150 MB peak.

    python -m bench.inference_latency [--calls N] [--backends tflite,tensorflow,numpy,auto]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ARTIFACTS = Path(__file__).resolve().parents[1] / "ml" / "artifacts"
BACKENDS = ("tflite", "tensorflow", "numpy", "auto")
TARGET_US = 50.0
TARGET_MB = 150.0
READING = (1013.25, 12.5, 55.0)  # pressure hPa, temperature C, humidity %RH


# -- the NumPy pipeline -------------------------------------------------------------------------


def export_numpy_weights(out: Path, artifacts: Path = ARTIFACTS) -> None:
    """Write the standardiser's statistics and the network's layers, from the SavedModels'
    variables, to ``out`` (.npz). Imports TensorFlow, so it runs in a process of its own."""
    import tensorflow as tf

    std = tf.train.load_checkpoint(str(artifacts / "standardiser" / "variables" / "variables"))
    net = tf.train.load_checkpoint(str(artifacts / "rain_predictor" / "variables" / "variables"))
    names = sorted(
        (k for k in net.get_variable_to_shape_map() if k.startswith("variables/")),
        key=lambda k: int(k.split("/")[1]),
    )  # kernel, bias, kernel, bias, ... in layer order
    arrays = {f"layer{i}": net.get_tensor(name) for i, name in enumerate(names)}
    arrays["mean"] = std.get_tensor("mean/.ATTRIBUTES/VARIABLE_VALUE")
    arrays["std"] = std.get_tensor("std/.ATTRIBUTES/VARIABLE_VALUE")
    np.savez(out, **arrays)


class NumpyBackend:
    """``(x - mean) / std``, then ReLU dense layers and a sigmoid output."""

    name = "numpy"

    def __init__(self, weights: Path) -> None:
        with np.load(weights) as data:
            self.mean, self.std = data["mean"], data["std"]
            count = sum(1 for key in data.files if key.startswith("layer"))
            flat = [data[f"layer{i}"] for i in range(count)]
        self.layers = list(zip(flat[::2], flat[1::2], strict=True))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.std
        for kernel, bias in self.layers[:-1]:
            h = np.maximum(h @ kernel + bias, 0.0)
        kernel, bias = self.layers[-1]
        return (1.0 / (1.0 + np.exp(-(h @ kernel + bias)))).reshape(-1)


# -- one backend, in its own process -----------------------------------------------------------


def _load(backend: str, weights: Path | None):
    if backend == "numpy":
        return NumpyBackend(weights)
    from fakes.core_modules import core_runtime_on_path  # the SDK the Lambda imports

    with core_runtime_on_path():
        from lambdas import inference
    return inference.load_backend(
        backend,
        str(ARTIFACTS / "standardiser"),
        str(ARTIFACTS / "rain_predictor"),
        str(ARTIFACTS / "rain_pipeline.tflite"),
    )


def time_calls(call: Callable[[], object], calls: int) -> list[float]:
    """Seconds per call, each call timed on its own."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def peak_mb() -> float:
    """This process's peak resident memory. On Linux, VmHWM of /proc/self/status: unlike
    ``ru_maxrss`` it belongs to this program alone, not to whatever process forked it
    (``python -m bench`` has run other benchmarks before this one)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes there, KiB here


def measure(backend: str, calls: int, weights: Path | None) -> dict:
    start = time.perf_counter()
    loaded = _load(backend, weights)
    load_s = time.perf_counter() - start

    def one_reading() -> object:
        return loaded.probabilities(np.asarray([READING], dtype=np.float32))

    probability = float(one_reading()[0])
    time_calls(one_reading, min(calls, 100))  # warm-up
    median = statistics.median(time_calls(one_reading, calls))
    return {
        "backend": backend,
        "uses": loaded.name,
        "median_us": median * 1e6,
        "peak_mb": peak_mb(),
        "load_s": load_s,
        "probability": probability,
    }


def _subprocess(*options: str) -> str:
    """Run this module with ``options`` in a fresh interpreter; its standard output."""
    command = [sys.executable, "-m", "bench.inference_latency", *options]
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(options)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def run_child(backend: str, calls: int, weights: Path | None) -> dict:
    options = ["--child", backend, "--calls", str(calls)]
    if weights is not None:
        options += ["--weights", str(weights)]
    return json.loads(_subprocess(*options).strip().splitlines()[-1])


def line(result: dict) -> str:
    uses = "" if result["uses"] == result["backend"] else f" (uses {result['uses']})"
    return (
        f"{result['backend']:>10}{uses}: {result['median_us']:9.1f} us/reading (median), "
        f"peak {result['peak_mb']:6.1f} MB, loaded in {result['load_s']:.2f} s, "
        f"p(rain)={result['probability']:.4f}"
    )


def verdict(result: dict) -> str:
    fast = result["median_us"] <= TARGET_US
    small = result["peak_mb"] <= TARGET_MB
    return (
        f"auto: {'meets' if fast else 'MISSES'} <= {TARGET_US:g} us per reading, "
        f"{'meets' if small else 'MISSES'} <= {TARGET_MB:g} MB peak"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export-weights", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.export_weights:
        export_numpy_weights(args.export_weights)
        return 0
    if args.child:
        print(json.dumps(measure(args.child, args.calls, args.weights)))
        return 0

    backends = [name for name in args.backends.split(",") if name]
    with tempfile.TemporaryDirectory() as tmp:
        weights = None
        if "numpy" in backends:
            weights = Path(tmp) / "weights.npz"
            _subprocess("--export-weights", str(weights))
        results = [run_child(name, args.calls, weights) for name in backends]
    print(f"Rain pipeline, one reading, median of {args.calls} calls, fresh process each:")
    for result in results:
        print(line(result))
    auto = next((r for r in results if r["backend"] == "auto"), None)
    if auto is not None:
        print(verdict(auto))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
