"""Training crops from ``../shared/data`` (BSDS500 and the photo corpus; never Kodak).

BSDS500 photos are small JPEGs: downscaling them (by 2 and by a few nearby
factors) removes most JPEG artefacts and adds scale diversity. The photo
corpus (``photos/``) was already downscaled 2–8× from its originals, so its
images are used at full size and at 0.7. A source is a folder, or the corpus
manifest with a split, ``PATH/MANIFEST.tsv#train``: the split is fixed by the
corpus (train / val / test), so selection never sees training images. All
resized images are kept in memory as uint8 (≈1.6 GB with the corpus), so
sampling a batch costs nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

SCALES = (0.5, 0.6, 0.7)
CORPUS_SCALES = (1.0, 0.7)      # the photo corpus: already downscaled from its originals
SPLITS = ("train", "val", "test")


def manifest_images(source: str | Path) -> list[Path]:
    """``PATH/MANIFEST.tsv#SPLIT`` → that split's files, in manifest order."""
    manifest, _, split = str(source).partition("#")
    if split not in SPLITS:
        raise ValueError(f"{source}: name a split after '#' ({', '.join(SPLITS)})")
    root = Path(manifest).parent
    rows = [line.split("\t") for line in Path(manifest).read_text().splitlines()[1:] if line.strip()]
    return [root / row[0] for row in rows if row[1] == split]


def is_manifest_source(source: str | Path) -> bool:
    return "#" in str(source)


def list_images(folders: list[Path]) -> list[Path]:
    paths: list[Path] = []
    for folder in folders:
        if is_manifest_source(folder):
            paths += manifest_images(folder)
        else:
            paths += sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not paths:
        raise FileNotFoundError(f"no training images found in {', '.join(map(str, folders))}")
    return paths


def load_sources(sources: list[str | Path]) -> list[torch.Tensor]:
    """Every source's images at its scales (corpus splits: :data:`CORPUS_SCALES`, folders: :data:`SCALES`)."""
    out: list[torch.Tensor] = []
    for source in sources:
        scales = CORPUS_SCALES if is_manifest_source(source) else SCALES
        out += load_scaled(list_images([source]), scales)
    return out


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

    def batch(self, size: int, keep: slice = slice(None)) -> torch.Tensor:
        """``size`` crops, of which only those in ``keep`` are cut and returned: a process of
        a distributed run draws the whole global batch's positions (so the stream is the one a
        single process draws) and cuts only its own share."""
        crops = []
        for i in range(size):
            im = self.images[self.rng.integers(len(self.images))]
            top = self.rng.integers(im.shape[1] - self.crop + 1)
            left = self.rng.integers(im.shape[2] - self.crop + 1)
            flip = self.rng.random() < 0.5
            if i in range(size)[keep]:
                c = im[:, top:top + self.crop, left:left + self.crop]
                crops.append(c.flip(2) if flip else c)
        return torch.stack(crops).float() / 255.0


def validation_set(folder: Path, count: int = 12, size: int = 160) -> torch.Tensor:
    """Centre crops of the first ``count`` validation images (a folder: at half scale;
    a corpus split: at full size)."""
    paths = list_images([folder])
    if is_manifest_source(folder):   # the manifest is sorted by source: spread the picks over all of them
        paths = paths[::max(1, len(paths) // count)]
    scale = 1.0 if is_manifest_source(folder) else 0.5
    images = load_scaled(paths[:count], scales=(scale,))
    crops = []
    for im in images:
        top = (im.shape[1] - size) // 2
        left = (im.shape[2] - size) // 2
        crops.append(im[:, top:top + size, left:left + size])
    return torch.stack(crops).float() / 255.0
