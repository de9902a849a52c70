"""The fit's sliced, hand-differentiated paths (:mod:`gzc.codec.overfit.fused_ops`) against autograd.

Both must give the loss and every gradient the plain autograd model gives, clamps included:
the model is run in float64 on a small image with slices far smaller than the image, so the
slicing, the restoring clamps (forced by large latents and biases) and the Laplace branches
are all exercised."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from gzc.codec.overfit import encoder, fused_ops  # noqa: E402
from gzc.codec.overfit.architecture import Architecture  # noqa: E402


def _model_and_target(seed: int):
    torch.manual_seed(seed)
    model = encoder.OverfitModel(Architecture(grids=3, arm_hidden=8, syn_hidden=8, syn_refine=1), 32, 48).double()
    with torch.no_grad():
        for y in model.latents:
            y.normal_(0, 20)             # some beyond ±63: the latents' clamp; large residuals
        for net in (model.anchor_net, model.other_net):
            net.w3.normal_(0, 3)         # means beyond ±63 and scale indices beyond 0…63
            net.b3.normal_(0, 4)
            net.b3[:, 1] = 3.0           # scale indices around 48 (gain 16): both sides of 0…63
        s = model.synthesis
        s.w3.normal_(0, 2)               # pixels beyond [0, 1]: the pixel clamp
        s.b1.normal_(0, 6)               # hidden units above the activation range
        for w in s.refine_w:
            w.normal_(0, 0.2)
    target = torch.rand(32, 48, 3, dtype=torch.float64)
    return model, target


def _loss_and_grads(fused: bool, seed: int, monkeypatch):
    monkeypatch.setattr(encoder, "FUSED", fused)
    monkeypatch.setattr(fused_ops, "ROWS", 37)       # many slices, a ragged last one
    model, target = _model_and_target(seed)
    q = [y.round() for y in model.latents]          # fixed integers: the same for both paths
    q = [t.detach().requires_grad_() for t in q]
    mse = torch.mean((model.image(q) - target) ** 2)
    bits = model.rate_bits(q)
    (mse + 0.01 * bits / (32 * 48)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    grads.update({f"q{i}": t.grad.clone() for i, t in enumerate(q)})
    return mse.item(), bits.item(), grads


@pytest.mark.parametrize("seed", [0, 1])
def test_fused_paths_match_autograd(seed, monkeypatch):
    mse_ref, bits_ref, ref = _loss_and_grads(False, seed, monkeypatch)
    mse, bits, got = _loss_and_grads(True, seed, monkeypatch)
    assert mse == pytest.approx(mse_ref, rel=1e-12)
    assert bits == pytest.approx(bits_ref, rel=1e-12)
    assert set(got) == set(ref)
    for name in ref:
        assert torch.allclose(got[name], ref[name], rtol=1e-9, atol=1e-12), name


def test_fixture_reaches_every_clamp(monkeypatch):
    """The comparison above means something only if the clamps and branches it must
    reproduce actually occur in it."""
    model, _ = _model_and_target(0)
    with torch.no_grad():
        q = [y.round() for y in model.latents]
        assert any((t.abs() > encoder.LATENT_BOUND).any() for t in q)
        s = model.synthesis
        u = torch.stack([torch.nn.functional.interpolate(t[None, None], size=(32, 48))[0, 0] for t in q], -1)
        h1 = u @ s.w1.t() + s.b1
        assert (h1 > fused_ops.ACT_REAL_MAX).any() and (h1 < 0).any()
        acc = model.anchor_net.first_layer(q[1], (16, 24))
        net = model.anchor_net
        out = (torch.relu(torch.relu(acc).clamp(max=fused_ops.ACT_REAL_MAX) @ net.w2.t() + net.b2).clamp(
            max=fused_ops.ACT_REAL_MAX) @ net.w3.t() + net.b3[0]) * encoder.ARM_OUTPUT_GAIN.double()
        assert (out[..., 0].abs() > encoder.LATENT_BOUND).any()
        k = out[..., 1]
        assert (k < 0).any() and (k > 63).any() and ((k > 0) & (k < 63)).any()
