"""The face generator's configuration, free of torch: what a decoder needs besides the weights.
(:mod:`.networks`, the torch modules, imports it from here.)"""
from __future__ import annotations

from dataclasses import asdict, dataclass

SIZE = 64  # the generator's image side


@dataclass(frozen=True)
class GeneratorConfig:
    z_dim: int = 128
    width: int = 32   # channels of the last feature map; ×8 at 4×4

    def to_dict(self) -> dict:
        return asdict(self)
