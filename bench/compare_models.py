"""How many bits does one codec need, against another, at equal MS-SSIM, setting by setting?

``gzc-bench``'s ``extreme.md`` answers this for each generative model against
the classical codecs and the MSE model; this script answers it between any
codecs whose records sit in one results folder, e.g. two versions of a
generative model, or candidates in ``bench/results/selection``.

For each setting of the *candidate* (its mean bpp and MS-SSIM over the
images) it interpolates every *reference* curve in log-bpp at the
candidate's MS-SSIM and prints reference bpp ÷ candidate bpp: > 1 means the
reference needs more bits for the same quality. A reference curve is its
settings' means sorted by bpp, keeping only the points that raise MS-SSIM
(``report.upper_envelope``: dominated settings are skipped), interpolated as
``extreme.md`` does (``extreme.bpp_for_value``: never extrapolated; ``–``
where the reference cannot reach our MS-SSIM).

Run: ``python bench/compare_models.py bench/results/kodak gzc:ae-generative-context-v2
gzc:ae-generative-context-v1 avif`` (candidate first; codec names as in the records).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from gzc.tools.bench.extreme import bpp_for_value
from gzc.tools.bench.report import summarise, upper_envelope


def points(results: Path, codec: str) -> list[dict]:
    """The codec's settings, mean metrics over the images (``gzc-bench``'s summary of its records)."""
    path = results / "records" / (codec.replace(":", "_") + ".json")
    return summarise(json.loads(path.read_text())["records"])[codec]


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("usage: python bench/compare_models.py RESULTS_FOLDER CANDIDATE REFERENCE [REFERENCE …]")
    results, candidate, references = Path(argv[0]), argv[1], argv[2:]
    curves = {name: upper_envelope(points(results, name), "msssim") for name in references}
    print(f"{candidate}: setting, bpp, MS-SSIM, PSNR; then each reference's bpp ÷ ours at our MS-SSIM "
          "(≤: its smallest file already matches us)")
    for p in points(results, candidate):
        ratios = []
        for name, curve in curves.items():
            need, how = bpp_for_value(curve, "msssim", p["msssim"])
            mark = "≤" if how == "at most" else ""
            ratios.append(f"{name} {mark}{need / p['bpp']:.3f}×" if need else f"{name} –")
        print(f"{p['param']:6s} {p['bpp']:.4f} {p['msssim']:.4f} {p['psnr']:5.2f}  " + "  ".join(ratios))


if __name__ == "__main__":
    main(sys.argv[1:])
