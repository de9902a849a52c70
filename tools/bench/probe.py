"""Speed and peak memory of one codec, measured in a fresh process.

Run as ``python -m gzc.tools.bench.probe CODEC PARAM IMAGE REPEATS``; prints
JSON with median encode/decode wall times and the process's peak resident
memory (ru_maxrss) after importing the codec, after warm-up, and at the end —
so each codec's memory figure is its own process, not the benchmark's.
"""
from __future__ import annotations

import json
import resource
import statistics
import sys
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    name, param, image_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    import numpy as np
    from PIL import Image

    rss_start = _rss_mb()
    from .codecs import find_codec
    codec = find_codec(name)
    param = type(codec.params[0])(param)
    img = np.asarray(Image.open(image_path).convert("RGB"))
    rss_imported = _rss_mb()
    data = codec.encode(img, param)          # warm-up (loads models, JIT paths)
    codec.decode(data)
    enc_times, dec_times = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        data = codec.encode(img, param)
        enc_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        codec.decode(data)
        dec_times.append(time.perf_counter() - t)
    mpix = img.shape[0] * img.shape[1] / 1e6
    enc, dec = statistics.median(enc_times), statistics.median(dec_times)
    print(json.dumps({"codec": name, "param": param, "image": image_path, "width": img.shape[1],
                      "height": img.shape[0], "bytes": len(data), "repeats": repeats,
                      "encode_s": enc, "decode_s": dec, "encode_mpix_s": mpix / enc, "decode_mpix_s": mpix / dec,
                      "torch_threads": _torch_threads(), "peak_rss_mb": _rss_mb(),
                      "rss_before_codec_mb": rss_start, "rss_after_import_mb": rss_imported}))


def _torch_threads():
    """Threads torch uses, or None when the codec never loaded torch."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


if __name__ == "__main__":
    main()
