"""gzc-bench: rate–distortion, speed and memory of gzc against classical codecs.

Modules: ``codecs`` (one adapter per codec: encode to bytes, decode to pixels),
``wavelet`` (the GANZ paper's Daubechies-4 baseline, with honestly counted
bits), ``metrics`` (PSNR / SSIM / MS-SSIM), ``bdrate`` (Bjøntegaard delta
rate), ``report`` (summaries, matched-rate and paper-style tables, plots),
``probe`` (per-process speed and peak memory) and ``cli`` (the command).
Every size is ``len(bytes) * 8 / pixels`` of what the codec actually wrote.
"""
