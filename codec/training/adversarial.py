"""Least-squares GAN pieces shared by the generative trainers (training only, never decoding).

LSGAN (Mao et al., 2017) replaces the log loss with squared errors to the
targets 1 (real) and 0 (fake); it gives non-vanishing gradients and is what
Agustsson et al. (2018) use for extreme-rate compression. Each function takes
the *list* of outputs of a multi-scale discriminator and averages the scales.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


def ls_real(outputs: list[torch.Tensor]) -> torch.Tensor:
    """Discriminator on real images, or generator on fakes: push outputs to 1."""
    return sum(((o - 1) ** 2).mean() for o in outputs) / len(outputs)


def ls_fake(outputs: list[torch.Tensor]) -> torch.Tensor:
    """Discriminator on generated images: push outputs to 0."""
    return sum((o ** 2).mean() for o in outputs) / len(outputs)


class PatchCritic(nn.Sequential):
    """A fully convolutional critic: one real/fake score per ≈46×46-pixel patch.

    Three stride-2 4×4 convolutions and a 3×3 output layer, spectrally
    normalised (Miyato et al., 2018), which keeps a small CPU-trained GAN stable
    without normalisation layers.
    """

    def __init__(self, in_channels: int, width: int):
        layers, cin = [], in_channels
        for cout in (width, width * 2, width * 4):
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        layers.append(spectral_norm(nn.Conv2d(cin, 1, 3, 1, 1)))
        super().__init__(*layers)


class MultiScaleDiscriminator(nn.Module):
    """Patch critics on the image at full, half and quarter size (pix2pixHD, Agustsson et al.).

    The fine critic judges texture, the coarse ones structure. With
    ``condition_channels > 0`` every critic also sees the decoder's latent
    (upsampled to its scale by repetition), so it judges the pair (image, code)
    as in VAE-GAN / HiFiC: a sharp texture must also fit the code it came from.
    """

    def __init__(self, scales: int = 3, width: int = 32, condition_channels: int = 0):
        super().__init__()
        self.condition_channels = condition_channels
        self.critics = nn.ModuleList(PatchCritic(3 + condition_channels, width) for _ in range(scales))

    def forward(self, x: torch.Tensor, code: torch.Tensor | None = None) -> list[torch.Tensor]:
        x = x * 2 - 1
        outputs = []
        for i, critic in enumerate(self.critics):
            scaled = F.avg_pool2d(x, 2 ** i) if i else x
            if self.condition_channels:
                scaled = torch.cat([scaled, F.interpolate(code, size=scaled.shape[-2:], mode="nearest")], dim=1)
            outputs.append(critic(scaled))
        return outputs
