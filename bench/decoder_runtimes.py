"""Which runtime for the torch-free decoder: numpy's BLAS against ONNX Runtime (issue 18).

    pip install --target /tmp/ort onnx onnxruntime      # scratch: not gzc dependencies
    PYTHONPATH=/tmp/ort python bench/decoder_runtimes.py [--repeats 5]

writes bench/results/decoder/runtimes.json: for kodim01 (768×512, Kodak: evaluation only) at the
default model and ``--bits 6``, the synthesis alone (no entropy decoding) on

* gzc's numpy decoder (:mod:`gzc.codec.autoencoder.numpy_synthesis`), and
* ONNX Runtime (CPU provider) running the same torch synthesis exported to ONNX (TorchScript
  exporter),

each with 1 and 2 threads, in a process of its own: median seconds, peak RSS of the process (VmHWM),
pixels against the numpy decoder and the torch one, and whether 1 and 2 threads give the same
pixels; plus the installed size of each runtime's package folder. The machine's load average is
recorded (a shared 2-core machine).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KODIM01 = ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png"
OUT = ROOT / "bench" / "results" / "decoder"

# One timing run, in its own process (so its peak RSS is its own): RUNTIME THREADS REPEATS TMP
WORKER = r"""
import json, statistics, sys, time
import numpy as np
def hwm_kb():   # this process's peak RSS (ru_maxrss would include the parent's at fork time)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
runtime, threads, repeats, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
latent = np.load(tmp + "/latent.npy")
if runtime == "onnxruntime":
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(tmp + "/synthesis.onnx", options, providers=["CPUExecutionProvider"])
    y = np.load(tmp + "/y.npy")
    run = lambda: session.run(None, {"y": y})[0][0]
    import contextlib
    context = contextlib.nullcontext()
else:
    from gzc.codec import numpy_ops, registry
    numpy_ops.set_threads(threads)
    backend = registry.load_backend(registry.find_model())
    run = lambda: backend.decoder(latent, 6)
    context = numpy_ops.decoding_threads()
with context:
    x = run()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); x = run(); times.append(time.perf_counter() - t)
pixels = np.rint(np.clip(x, 0, 1) * np.float32(255)).astype(np.uint8)
np.save(f"{tmp}/{runtime}_{threads}.npy", pixels)
print(json.dumps({"seconds": round(statistics.median(times), 4),
                  "peak_mb": round(hwm_kb() / 1024, 1)}))
"""


def folder_mb(module_name: str) -> float:
    spec = __import__("importlib.util").util.find_spec(module_name)
    folder = Path(spec.origin).parent
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2 ** 20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import numpy as np
    import torch
    from gzc.codec import registry
    from gzc.codec.codec import encode_pixels, decode_latent
    from gzc.codec.imageio import load_image

    load_before = os.getloadavg()
    rgb, _ = load_image(KODIM01)
    backend = registry.load_backend(registry.find_model())
    latent = decode_latent(encode_pixels(rgb, bits=6))
    model = backend.model

    class Synthesis(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.synthesis = model.synthesis     # a submodule: exported as the graph's weights

        def forward(self, y):
            return self.synthesis(y) + 0.5

    with tempfile.TemporaryDirectory() as tmp:
        y = (torch.from_numpy(latent).float()[None] * model.step(6).view(1, -1, 1, 1)).detach()
        np.save(f"{tmp}/latent.npy", latent)
        np.save(f"{tmp}/y.npy", y.numpy())
        torch.onnx.export(Synthesis().eval(), (y,), f"{tmp}/synthesis.onnx", dynamo=False, input_names=["y"],
                          output_names=["x"], dynamic_axes={"y": {2: "h", 3: "w"}})
        h, w = rgb.shape[:2]
        reference = backend.with_engine("torch").synthesise(latent, 6, w, h).transpose(2, 0, 1)
        results: dict = {"image": f"kodim01 {w}x{h}", "model": backend.name, "bits": 6, "repeats": args.repeats,
                         "onnx_bytes": os.path.getsize(f"{tmp}/synthesis.onnx"), "runs": {}}
        for runtime in ("numpy", "onnxruntime"):
            for threads in (1, 2):
                out = subprocess.run([sys.executable, "-c", WORKER, runtime, str(threads), str(args.repeats), tmp],
                                     check=True, capture_output=True, text=True, cwd=ROOT)
                run = json.loads(out.stdout.strip().splitlines()[-1])
                pixels = np.load(f"{tmp}/{runtime}_{threads}.npy").astype(np.int16)
                for name, other in (("vs_torch", reference), ("vs_numpy", np.load(f"{tmp}/numpy_1.npy"))):
                    diff = np.abs(pixels - other.astype(np.int16))
                    run[name] = {"max": int(diff.max()), "different": int(np.count_nonzero(diff))}
                run["mp_per_s"] = round(w * h / 1e6 / run["seconds"], 3)
                results["runs"][f"{runtime}, {threads} thread{'s' if threads > 1 else ''}"] = run
            one, two = (np.load(f"{tmp}/{runtime}_{t}.npy") for t in (1, 2))
            results[f"{runtime}_thread_count_identical"] = bool(np.array_equal(one, two))
    results["installed_mb"] = {"onnxruntime": folder_mb("onnxruntime"), "torch": folder_mb("torch"),
                               "numpy": folder_mb("numpy"), "threadpoolctl": round(
                                   os.path.getsize(__import__("threadpoolctl").__file__) / 2 ** 20, 2)}
    results["load_average"] = {"before": [round(x, 2) for x in load_before],
                               "after": [round(x, 2) for x in os.getloadavg()]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runtimes.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
