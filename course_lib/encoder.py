"""The domain encoder: a small CNN trained on SynthFaces to read a face's parameters back.

Inception or VGG weights cannot be downloaded offline, and they were never trained on our faces
anyway. This encoder is: it predicts skin tone, the mean colours of skin, lips, eyeshadow zone and
cheeks, which products are worn, hair style and colour, and face geometry. Its 256-d penultimate
features are the space where FID/KID and precision/recall are measured (``metrics``); its heads are
attribute read-outs, e.g. the lip colour of a generated face (no masks needed at read-out time).
Taught in 03_dcgan_faces, section 6, and 06_evaluation_fairness.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import faces

FEATURES = 256
COLOUR_REGIONS = ("skin", "lips", "eyeshadow", "cheeks")  # mean sRGB colour of each region
PRODUCTS = ("lipstick", "eyeshadow", "blush", "eyeliner")  # worn or not
GEOMETRY = ("face_width", "face_height", "jaw", "eye_size", "eye_spacing", "lip_width", "lip_fullness", "smile",
            "rotation", "scale", "shift_x", "shift_y")
HEADS = {"tone": 1, **{f"{r}_rgb": 3 for r in COLOUR_REGIONS}, "worn": len(PRODUCTS),
         "hair_style": len(faces.HAIR_STYLES), "hair_colour": len(faces.HAIR_COLOURS), "geometry": len(GEOMETRY)}


class DomainEncoder(nn.Module):
    """Images ``(B, 3, S, S)`` in [-1, 1] (resized to 64 px) -> features ``(B, 256)`` and a dict of head outputs.

    (B, 3, 64, 64) -> (B, 32, 64, 64) -> (B, 64, 32, 32) -> (B, 96, 16, 16) -> (B, 128, 8, 8) -> (B, 192, 4, 4)
    -> flatten -> (B, 256) features -> linear heads.
    """

    def __init__(self):
        super().__init__()

        def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.LeakyReLU(0.2, inplace=True)]

        self.trunk = nn.Sequential(*block(3, 32, 1), *block(32, 64, 2), *block(64, 96, 2), *block(96, 128, 2),
                                   *block(128, 192, 2), nn.Flatten(), nn.Linear(192 * 16, FEATURES), nn.LeakyReLU(0.2))
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURES, n) for name, n in HEADS.items()})

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        """Check a batch and resize it to 64 px."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"images must be a tensor (B, 3, H, W) in [-1, 1], got {getattr(x, 'shape', type(x))}")
        if x.shape[-2:] != (64, 64):
            x = F.interpolate(x.float(), size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
        return x.float()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the (B, 256) features used by FID, KID and precision/recall."""
        return self.trunk(self.prepare(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.features(x)
        out = {name: head(h) for name, head in self.heads.items()}
        out["features"] = h
        return out


# --------------------------------------------------------------------------------------------------
# Targets: what the encoder learns to read, computed from a rendered batch's masks and parameters
# --------------------------------------------------------------------------------------------------
def _norm_geometry(identity: faces.Identity) -> list[float]:
    return [(getattr(identity, k) - faces.RANGES[k][0]) / (faces.RANGES[k][1] - faces.RANGES[k][0]) for k in GEOMETRY]


def region_colours(batch: faces.Faces) -> dict[str, torch.Tensor]:
    """Mean sRGB colour (B, 3) in [0, 1] of each region where its mask > 0.5 (NaN where a face has none)."""
    x01 = (batch.images + 1) / 2
    out = {}
    for region in COLOUR_REGIONS:
        m = (batch.masks[region] > 0.5).float()
        area = m.sum((2, 3))
        mean = (x01 * m).sum((2, 3)) / area.clamp_min(1)
        out[region] = torch.where(area >= 2, mean, torch.full_like(mean, float("nan")))
    return out


def targets(batch: faces.Faces) -> dict[str, torch.Tensor]:
    """The training targets of a rendered batch, one tensor per head."""
    colours = region_colours(batch)
    hair_styles, hair_colours = list(faces.HAIR_STYLES), list(faces.HAIR_COLOURS)
    return {
        "tone": torch.tensor([[(i.tone - 1) / 9] for i in batch.identities]),
        **{f"{r}_rgb": colours[r] for r in COLOUR_REGIONS},
        "worn": torch.tensor([[float(getattr(m, p) is not None) for p in PRODUCTS] for m in batch.makeups]),
        "hair_style": torch.tensor([hair_styles.index(i.hair_style) for i in batch.identities]),
        "hair_colour": torch.tensor([hair_colours.index(i.hair_colour) for i in batch.identities]),
        "geometry": torch.tensor([_norm_geometry(i) for i in batch.identities], dtype=torch.float32),
    }


def loss(out: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the head losses: MSE for numbers and colours (NaN targets skipped), BCE for worn, CE for classes."""
    total = torch.zeros(())
    for name in ("tone", "geometry", *(f"{r}_rgb" for r in COLOUR_REGIONS)):
        ok = ~torch.isnan(tgt[name])
        weight = 10.0 if name.endswith("_rgb") or name == "tone" else 1.0  # colours matter most to the course
        total = total + weight * F.mse_loss(out[name][ok], tgt[name][ok]) if ok.any() else total
    total = total + F.binary_cross_entropy_with_logits(out["worn"], tgt["worn"])
    total = total + 0.3 * (F.cross_entropy(out["hair_style"], tgt["hair_style"]) + F.cross_entropy(out["hair_colour"], tgt["hair_colour"]))
    return total


def degrade(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random mild blur and noise, so the read-outs hold up on a GAN's imperfect samples."""
    b = x.shape[0]
    sigma = torch.rand(b, generator=generator) * 1.0  # blur sigma in pixels, 0..1
    k = torch.arange(-2, 3, dtype=torch.float32)
    kern = torch.exp(-(k[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    kern = kern / kern.sum(1, keepdim=True)  # (B, 5) separable kernels
    xp = F.pad(x, (2, 2, 2, 2), mode="replicate")
    rows = sum(kern[:, i].view(b, 1, 1, 1) * xp[:, :, i : i + x.shape[2], :] for i in range(5))
    out = sum(kern[:, i].view(b, 1, 1, 1) * rows[:, :, :, i : i + x.shape[3]] for i in range(5))
    noise = torch.randn(x.shape, generator=generator) * (torch.rand(b, 1, 1, 1, generator=generator) * 0.06)
    return (out + noise).clamp(-1, 1)


@dataclass
class EncoderConfig:
    """How the shipped encoder is trained (tools/train_checkpoints.py)."""

    steps: int = 3000  # batches of fresh renders; ~200k faces in all
    batch_size: int = 64
    lr: float = 1e-3  # Adam, cosine-decayed to 0
    makeup: float = 0.7  # probability a training face wears makeup
    seed: int = 1  # data set seed (held-out evaluation uses seed 999)

    @classmethod
    def fast(cls) -> "EncoderConfig":
        return cls(steps=30, batch_size=32)


def train_encoder(cfg: EncoderConfig, log_every: int = 100, callback=None) -> tuple[DomainEncoder, list[float]]:
    """Train a DomainEncoder on fresh SynthFaces renders; return it (in eval mode) and the loss history."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = DomainEncoder()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    history: list[float] = []
    t0 = time.time()
    for step in range(cfg.steps):
        batch = faces.render_indices(range(step * cfg.batch_size, (step + 1) * cfg.batch_size), seed=cfg.seed, size=64, makeup=cfg.makeup)
        out = model(degrade(batch.images, gen))
        value = loss(out, targets(batch))
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        sched.step()
        history.append(value.item())
        if callback is not None and (step % log_every == 0 or step == cfg.steps - 1):
            callback(step, float(np.mean(history[-log_every:])), time.time() - t0)
    return model.eval(), history


@torch.no_grad()
def read_out(model: DomainEncoder, images: torch.Tensor, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Read attributes off images: tone (Monk 1-10), region colours (sRGB), P(worn), hair classes, features."""
    model.eval()
    parts = [model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    out = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    res = {"tone": (out["tone"][:, 0] * 9 + 1).clamp(1, 10).numpy(), "features": out["features"].numpy(),
           "worn": torch.sigmoid(out["worn"]).numpy(), "hair_style": out["hair_style"].argmax(1).numpy(),
           "hair_colour": out["hair_colour"].argmax(1).numpy()}
    for r in COLOUR_REGIONS:
        res[f"{r}_rgb"] = out[f"{r}_rgb"].clamp(0, 1).numpy()
    return res


def evaluate(model: DomainEncoder, n: int = 1000, seed: int = 999) -> dict[str, float]:
    """Measure the encoder on held-out renders: colour errors in dE2000, tone MAE, accuracies."""
    from course_lib import colour

    batch = faces.render_indices(range(n), seed=seed, size=64, makeup=0.7)
    pred, tgt = read_out(model, batch.images), targets(batch)
    res: dict[str, float] = {}
    for r in COLOUR_REGIONS:
        ok = ~torch.isnan(tgt[f"{r}_rgb"][:, 0])
        res[f"{r}_dE2000"] = float(np.mean(colour.delta_e2000(pred[f"{r}_rgb"][ok.numpy()], tgt[f"{r}_rgb"][ok].numpy())))
    res["tone_mae"] = float(np.abs(pred["tone"] - (tgt["tone"][:, 0].numpy() * 9 + 1)).mean())
    res["worn_accuracy"] = float(((pred["worn"] > 0.5) == (tgt["worn"].numpy() > 0.5)).mean())
    res["hair_style_accuracy"] = float((pred["hair_style"] == tgt["hair_style"].numpy()).mean())
    res["hair_colour_accuracy"] = float((pred["hair_colour"] == tgt["hair_colour"].numpy()).mean())
    return {k: round(v, 4) for k, v in res.items()}


def config_dict(cfg: EncoderConfig) -> dict:
    """The config as a plain dict (for the checkpoint manifest)."""
    return asdict(cfg)


@dataclass
class ShippedEncoder:
    """The shipped encoder, ready for read-outs, with its measured accuracy."""

    model: DomainEncoder
    metrics: dict
    config: dict


def load_shipped(name: str = "encoder", directory=None) -> ShippedEncoder:
    """Load the shipped domain encoder (hash-checked, weights only) in eval mode on the CPU."""
    from course_lib import checkpoints

    state, entry = checkpoints.load(name, directory)
    model = DomainEncoder()
    model.load_state_dict(state["encoder"])
    return ShippedEncoder(model.eval(), entry.metrics, entry.config)
