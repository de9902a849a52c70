"""Entropy coders. Both map an integer latent to payload bytes and back, exactly.

* :mod:`.range_coder` — range coding with per-channel integer frequency tables
  (the learned prior, quantized and shipped with the weights).
* :mod:`.elias_gamma` — model-free signed Elias-gamma code (for comparison, and
  for small latents where a table would cost more than it saves).
"""
