"""Training crops from BSDS500 (train + test splits; never Kodak).

BSDS500 photos are JPEGs: downscaling them (by 2 and by a few nearby factors)
removes most JPEG artefacts and adds scale diversity. All resized images are
kept in memory as uint8 (≈100 MB), so sampling a batch costs nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

SCALES = (0.5, 0.6, 0.7)


def list_images(folders: list[Path]) -> list[Path]:
    paths: list[Path] = []
    for folder in folders:
        paths += sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not paths:
        raise FileNotFoundError(f"no training images found in {', '.join(map(str, folders))}")
    return paths


def load_scaled(paths: list[Path], scales=SCALES) -> list[torch.Tensor]:
    out = []
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("RGB")
            for s in scales:
                size = (round(im.width * s), round(im.height * s))
                arr = np.asarray(im.resize(size, Image.LANCZOS))
                out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous())
    return out


class CropSampler:
    """Random crops with random flips, drawn from a seeded generator (resumable)."""

    def __init__(self, images: list[torch.Tensor], crop: int, seed: int):
        self.images = [im for im in images if im.shape[1] >= crop and im.shape[2] >= crop]
        if not self.images:
            raise ValueError(f"no training image (after resizing) is at least {crop}×{crop} pixels")
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> torch.Tensor:
        crops = []
        for _ in range(size):
            im = self.images[self.rng.integers(len(self.images))]
            top = self.rng.integers(im.shape[1] - self.crop + 1)
            left = self.rng.integers(im.shape[2] - self.crop + 1)
            c = im[:, top:top + self.crop, left:left + self.crop]
            if self.rng.random() < 0.5:
                c = c.flip(2)
            crops.append(c)
        return torch.stack(crops).float() / 255.0


def validation_set(folder: Path, count: int = 12, size: int = 160) -> torch.Tensor:
    """Centre crops of the first ``count`` validation images at half scale."""
    images = load_scaled(list_images([folder])[:count], scales=(0.5,))
    crops = []
    for im in images:
        top = (im.shape[1] - size) // 2
        left = (im.shape[2] - size) // 2
        crops.append(im[:, top:top + size, left:left + size])
    return torch.stack(crops).float() / 255.0
