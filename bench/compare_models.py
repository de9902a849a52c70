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
(dominated settings are skipped); no extrapolation (``–`` outside it).

Run: ``python bench/compare_models.py bench/results/kodak gzc:ae-generative-context-v2
gzc:ae-generative-context-v1 avif`` (candidate first; codec names as in the records).
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np


def curve(results: Path, codec: str) -> dict[str, tuple[float, float, float]]:
    """Setting → mean (bpp, MS-SSIM, PSNR) over the images, from ``records/<codec>.json``."""
    path = results / "records" / (codec.replace(":", "_") + ".json")
    per_setting = defaultdict(list)
    for r in json.loads(path.read_text())["records"]:
        per_setting[r["param"]].append((r["bpp"], r["msssim"], r["psnr"]))
    return {p: tuple(float(v) for v in np.mean(rows, axis=0)) for p, rows in per_setting.items()}


def bpp_at(reference: dict, msssim: float) -> float | None:
    """The reference's bpp at this MS-SSIM, interpolated in log-bpp on its rising frontier."""
    frontier: list[tuple[float, float]] = []
    for bpp, quality, _ in sorted(reference.values()):
        if not frontier or quality > frontier[-1][1]:
            frontier.append((bpp, quality))
    qualities = [q for _, q in frontier]
    if not qualities or not qualities[0] <= msssim <= qualities[-1]:
        return None
    return float(np.exp(np.interp(msssim, qualities, [np.log(b) for b, _ in frontier])))


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("usage: python bench/compare_models.py RESULTS_FOLDER CANDIDATE REFERENCE [REFERENCE …]")
    results, candidate, references = Path(argv[0]), argv[1], argv[2:]
    ours = curve(results, candidate)
    theirs = {name: curve(results, name) for name in references}
    print(f"{candidate}: setting, bpp, MS-SSIM, PSNR; then each reference's bpp ÷ ours at our MS-SSIM")
    for setting, (bpp, msssim, psnr) in sorted(ours.items(), key=lambda item: item[1][0]):
        ratios = []
        for name, ref in theirs.items():
            need = bpp_at(ref, msssim)
            ratios.append(f"{name} {need / bpp:.3f}×" if need else f"{name} –")
        print(f"{setting:6s} {bpp:.4f} {msssim:.4f} {psnr:5.2f}  " + "  ".join(ratios))


if __name__ == "__main__":
    main(sys.argv[1:])
