"""The face domain of the latent-search backend: CelebA aligned faces as 64×64 RGB.

A 64×64 face is the centre crop box (10, 20, 80, 90) of an 89×109 CelebA
image, resized with Lanczos (as ``../shared/README.md`` defines it). Files
``000001``–``009000`` are for training (the last 200 of them are used for
validation during training), ``009001``–``010000`` are the held-out test set
on which results are reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FACES_DIR = Path("../shared/data/faces/celeba")
CROP_BOX = (10, 20, 80, 90)
SIDE = 64
TRAIN = range(1, 8801)
VALIDATION = range(8801, 9001)
TEST = range(9001, 10001)


def face_path(index: int, folder: Path = FACES_DIR) -> Path:
    return Path(folder) / f"{index:06d}.jpg"


def load_face(path: Path) -> np.ndarray:
    """One CelebA image → (64, 64, 3) uint8."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").crop(CROP_BOX).resize((SIDE, SIDE), Image.LANCZOS))


def load_faces(indices, folder: Path = FACES_DIR) -> np.ndarray:
    """(N, 64, 64, 3) uint8 for the given file numbers."""
    return np.stack([load_face(face_path(i, folder)) for i in indices])
