"""Training: everything that makes or exports a model, and nothing a decoder needs.

Decoding never imports this package (a test checks ``sys.modules``); it depends
on the coding side (``gzc.codec``), never the other way round.

* :mod:`.common` — the run folder: atomic checkpoint, resume, config, log, schedule;
* :mod:`.distributed` — data-parallel training under ``torchrun`` (gloo on CPU, NCCL on GPU);
* :mod:`.adversarial` — least-squares GAN losses and the multi-scale patch discriminator;
* :mod:`.autoencoder` — the fidelity trainer (:mod:`~.autoencoder.fidelity`), the generative
  trainer (:mod:`~.autoencoder.generative`, settings in :mod:`~.autoencoder.generative_config`,
  torch-free), the float prior and trainable model, the crop dataset, and the export to weights;
* :mod:`.latent_search` — the face generator's trainer, its discriminator, the CelebA
  face data and the export.

``gzc-train`` (``tools/train.py``) is the command line for all of them.
"""
