"""A weights file on the fidelity trainer's validation set, measured as the trainer measures it.

    python bench/validate_weights.py weights/ae-factorized-v1.safetensors
    python bench/validate_weights.py weights/campaign/fid-ctx.safetensors --context

The same 16 centre crops (256 px) of the photo corpus's *validation* split that
``gzc-train autoencoder --val …MANIFEST.tsv#val --val-count 16 --val-size 256``
logs every 1,000 steps: PSNR of the hard-rounded reconstruction and the
prior's estimated bpp per ``--bits`` setting. It puts a starting point (step
0 of a warm-started run) on the campaign's validation trajectory.
"""
from __future__ import annotations

import argparse
import json

import torch

from gzc.codec.autoencoder.model import ModelConfig
from gzc.codec.training.autoencoder.dataset import validation_set
from gzc.codec.training.autoencoder.fidelity import load_init, validate
from gzc.codec.training.autoencoder.model import TrainableAutoencoder

VAL = "../shared/data/photos/MANIFEST.tsv#val"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("--context", action="store_true", help="the weights hold a context prior")
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--m", type=int, default=160)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = TrainableAutoencoder(ModelConfig(n=args.n, m=args.m, context=int(args.context)))
    load_init(model, args.weights)
    print(json.dumps(validate(model, validation_set(VAL, 16, 256))))


if __name__ == "__main__":
    main()
