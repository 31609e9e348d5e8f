"""The domain encoder: a small CNN trained on SynthFaces to read a face's parameters back.

Inception or VGG weights cannot be downloaded offline, and they were never trained on our faces
anyway. This encoder is: it predicts skin tone, the mean colours of skin, lips, eyeshadow zone and
cheeks, which products are worn, hair style and colour, face geometry, and the *shade* of the lipstick
(the product's colour, with the lighting taken out: what a try-on is asked for). Its 256-d penultimate
features are the space where FID/KID and precision/recall are measured (``metrics``); its heads are
attribute read-outs, e.g. the lipstick shade of a generated face (no masks needed at read-out time).

Training has two stages: ``train_encoder`` trains everything but the shade head; ``train_shade_head``
then fits that small head on the frozen encoder's features and region colours.
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
from course_lib.train.run import Run, cosine_decay, own_random_stream

FEATURES = 256
COLOUR_REGIONS = ("skin", "lips", "eyeshadow", "cheeks")  # mean sRGB colour of each region
PRODUCTS = ("lipstick", "eyeshadow", "blush", "eyeliner")  # worn or not
GEOMETRY = ("face_width", "face_height", "jaw", "eye_size", "eye_spacing", "lip_width", "lip_fullness", "smile",
            "rotation", "scale", "shift_x", "shift_y")
SHADE_INPUTS = FEATURES + 3 * len(COLOUR_REGIONS)  # the shade head reads the features and the region colours
HEADS = {"tone": 1, "lipstick_rgb": 3, **{f"{r}_rgb": 3 for r in COLOUR_REGIONS}, "worn": len(PRODUCTS),
         "hair_style": len(faces.HAIR_STYLES), "hair_colour": len(faces.HAIR_COLOURS), "geometry": len(GEOMETRY)}


class DomainEncoder(nn.Module):
    """Images ``(B, 3, S, S)`` in [-1, 1] (resized to 64 px) -> features ``(B, 256)`` and a dict of head outputs.

    (B, 3, 64, 64) -> (B, 32, 64, 64) -> (B, 64, 32, 32) -> (B, 96, 16, 16) -> (B, 128, 8, 8) -> (B, 192, 4, 4)
    -> flatten -> (B, 256) features -> linear heads.
    The colour heads are *attention pooling*: from the 32 x 32 map, one attention map per region (softmax
    over all pixels) says where that region is, and the head returns the attention-weighted mean colour of
    the input's pixels, which is exactly the kind of quantity it is asked for (a region's mean colour).
    The lipstick-shade head is a small MLP on the features and those region colours (stage 2 of training):
    a region's mean colour still carries the lighting and the gloss; the shade does not.
    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """

    def __init__(self):
        super().__init__()

        def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.LeakyReLU(0.2, inplace=True)]

        self.stem = nn.Sequential(*block(3, 32, 1), *block(32, 64, 2))  # (B, 64, 32, 32)
        self.trunk = nn.Sequential(*block(64, 96, 2), *block(96, 128, 2), *block(128, 192, 2),
                                   nn.Flatten(), nn.Linear(192 * 16, FEATURES), nn.LeakyReLU(0.2))
        self.where = nn.Sequential(*block(64, 64, 1), nn.Conv2d(64, len(COLOUR_REGIONS), 1))  # attention logits
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURES, n) for name, n in HEADS.items() if not name.endswith("_rgb")})
        self.shade = nn.Sequential(nn.Linear(SHADE_INPUTS, 256), nn.LeakyReLU(0.2), nn.Linear(256, 3))
        self.register_buffer("shade_mean", torch.zeros(SHADE_INPUTS))  # input standardisation, set in stage 2
        self.register_buffer("shade_std", torch.ones(SHADE_INPUTS))

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
        return self.trunk(self.stem(self.prepare(x)))

    def _log_attention(self, s: torch.Tensor) -> torch.Tensor:
        """Stem features (B, 64, 32, 32) -> log attention over the 64 x 64 pixels, (B, regions, 64*64)."""
        logits = F.interpolate(self.where(s), size=(64, 64), mode="bilinear", align_corners=False)
        return logits.flatten(2).log_softmax(-1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Where each colour region is: (B, regions, 64, 64) maps that each sum to 1."""
        return self._log_attention(self.stem(self.prepare(x))).exp().unflatten(2, (64, 64))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.prepare(x)
        s = self.stem(x)
        h = self.trunk(s)
        out = {name: head(h) for name, head in self.heads.items()}
        out["where"] = self._log_attention(s)  # (B, regions, 64*64) log attention
        colours = torch.einsum("brp,bcp->brc", out["where"].exp(), ((x + 1) / 2).flatten(2))  # (B, regions, 3) in [0, 1]
        for i, region in enumerate(COLOUR_REGIONS):
            out[f"{region}_rgb"] = colours[:, i]
        out["features"] = h
        out["lipstick_rgb"] = torch.sigmoid(self.shade(self.shade_input(out)))
        return out

    def shade_input(self, out: dict[str, torch.Tensor], standardise: bool = True) -> torch.Tensor:
        """The shade head's input: features and region colours, (B, SHADE_INPUTS), standardised by default."""
        x = torch.cat([out["features"], *(out[f"{r}_rgb"] for r in COLOUR_REGIONS)], 1)
        return (x - self.shade_mean) / self.shade_std if standardise else x


# --------------------------------------------------------------------------------------------------
# Targets: what the encoder learns to read, computed from a rendered batch's masks and parameters
# --------------------------------------------------------------------------------------------------
def _norm_geometry(identity: faces.Identity) -> list[float]:
    return [(getattr(identity, k) - faces.RANGES[k][0]) / (faces.RANGES[k][1] - faces.RANGES[k][0]) for k in GEOMETRY]


def region_colours(batch: faces.Faces) -> dict[str, torch.Tensor]:
    """Mean sRGB colour (B, 3) in [0, 1] of each region where its mask > 0.5 (NaN where a face has none).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    x01 = (batch.images + 1) / 2
    out = {}
    for region in COLOUR_REGIONS:
        m = (batch.masks[region] > 0.5).float()
        area = m.sum((2, 3))
        mean = (x01 * m).sum((2, 3)) / area.clamp_min(1)
        out[region] = torch.where(area >= 2, mean, torch.full_like(mean, float("nan")))
    return out


def targets(batch: faces.Faces) -> dict[str, torch.Tensor]:
    """The training targets of a rendered batch, one tensor per head (and where each colour region is).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    colours = region_colours(batch)
    where = torch.cat([(batch.masks[r] > 0.5).float() for r in COLOUR_REGIONS], 1)  # (B, regions, S, S)
    if where.shape[-1] != 64:
        where = F.interpolate(where, size=(64, 64), mode="area")
    where = where.flatten(2)
    where = where / where.sum(-1, keepdim=True).clamp_min(1e-6)  # a distribution over pixels (0 if absent)
    hair_styles, hair_colours = list(faces.HAIR_STYLES), list(faces.HAIR_COLOURS)
    return {
        "tone": torch.tensor([[(i.tone - 1) / 9] for i in batch.identities]),
        **{f"{r}_rgb": colours[r] for r in COLOUR_REGIONS},
        "worn": torch.tensor([[float(getattr(m, p) is not None) for p in PRODUCTS] for m in batch.makeups]),
        "hair_style": torch.tensor([hair_styles.index(i.hair_style) for i in batch.identities]),
        "hair_colour": torch.tensor([hair_colours.index(i.hair_colour) for i in batch.identities]),
        "geometry": torch.tensor([_norm_geometry(i) for i in batch.identities], dtype=torch.float32),
        "where": where,
    }


def loss(out: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the head losses: MSE for numbers and colours (NaN targets skipped), BCE for worn, CE for classes,
    and cross-entropy of the colour attention against the region masks.
    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py)."""
    total = torch.zeros(())
    for name in ("tone", "geometry", *(f"{r}_rgb" for r in COLOUR_REGIONS)):
        ok = ~torch.isnan(tgt[name])
        weight = 10.0 if name.endswith("_rgb") or name == "tone" else 1.0  # colours matter most to the course
        total = total + weight * F.mse_loss(out[name][ok], tgt[name][ok]) if ok.any() else total
    total = total + F.binary_cross_entropy_with_logits(out["worn"], tgt["worn"])
    # the attention maps learn where each region is straight from the masks: cross-entropy to the mask's
    # pixel distribution (regions a face lacks have an all-zero target and add nothing)
    total = total - (tgt["where"] * out["where"]).sum(-1).mean()
    total = total + 0.3 * (F.cross_entropy(out["hair_style"], tgt["hair_style"]) + F.cross_entropy(out["hair_colour"], tgt["hair_colour"]))
    return total


def degrade(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random mild blur and noise, so the read-outs hold up on a GAN's imperfect samples.

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    b = x.shape[0]
    sigma = torch.rand(b, generator=generator) * 0.8  # blur sigma in pixels, 0..0.8
    k = torch.arange(-2, 3, dtype=torch.float32)
    kern = torch.exp(-(k[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    kern = kern / kern.sum(1, keepdim=True)  # (B, 5) separable kernels
    xp = F.pad(x, (2, 2, 2, 2), mode="replicate")
    rows = sum(kern[:, i].view(b, 1, 1, 1) * xp[:, :, i : i + x.shape[2], :] for i in range(5))
    out = sum(kern[:, i].view(b, 1, 1, 1) * rows[:, :, :, i : i + x.shape[3]] for i in range(5))
    noise = torch.randn(x.shape, generator=generator) * (torch.rand(b, 1, 1, 1, generator=generator) * 0.04)
    return (out + noise).clamp(-1, 1)


@dataclass
class EncoderConfig:
    """How the shipped encoder is trained (tools/train_checkpoints.py).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """

    steps: int = 4000  # batches of fresh renders; ~250k faces in all
    batch_size: int = 64
    lr: float = 1e-3  # Adam, cosine-decayed to 0
    makeup: float = 0.7  # probability a training face wears makeup
    seed: int = 1  # data set seed (held-out evaluation uses seed 999)

    @classmethod
    def fast(cls) -> "EncoderConfig":
        return cls(steps=30, batch_size=32)


@own_random_stream
def train_encoder(cfg: EncoderConfig, log_every: int = 100, callback=None, run_dir=None) -> tuple[DomainEncoder, list[float]]:
    """Train a DomainEncoder on fresh SynthFaces renders; return it (in eval mode) and the loss of every step.

    A ``train.run.Run``: ``callback(run)`` every ``log_every`` steps; with ``run_dir`` it checkpoints every
    ``log_every`` steps and resumes exactly. The caller's random streams are left as they were.
    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    torch.manual_seed(cfg.seed)  # the init (own_random_stream: the caller's stream does not move)
    gen = torch.Generator().manual_seed(cfg.seed)  # the degradations
    model = DomainEncoder()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = cosine_decay(opt, cfg.steps)
    run = Run("encoder", cfg.steps, nets={"encoder": model}, optimizers={"opt": opt}, config=config_dict(cfg),
              run_dir=run_dir, state={"gen": (gen.get_state, gen.set_state), "sched": (sched.state_dict, sched.load_state_dict)},
              checkpoint_every=log_every if run_dir is not None else 0, callbacks=[callback] if callback else (),
              callback_every=log_every, same_config=True)
    run.resume()
    for step in run:
        batch = faces.render_indices(range(step * cfg.batch_size, (step + 1) * cfg.batch_size), seed=cfg.seed, size=64,
                                     makeup=cfg.makeup)
        value = loss(model(degrade(batch.images, gen)), targets(batch))
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        sched.step()
        run.end_step({"loss": value.item()})
    run.finish()
    return model.eval(), run.history["loss"]


@dataclass
class ShadeConfig:
    """Stage 2: the lipstick-shade head, fitted on the frozen encoder (tools/train_checkpoints.py).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """

    faces: int = 25600  # fresh renders whose encoder outputs are computed once
    steps: int = 4000  # Adam steps on minibatches of those
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 2  # data set seed (held-out evaluation uses seed 999)

    @classmethod
    def fast(cls) -> "ShadeConfig":
        return cls(faces=512, steps=50)


def shade_targets(batch: faces.Faces) -> tuple[torch.Tensor, torch.Tensor]:
    """Each face's lipstick shade (B, 3) in sRGB [0, 1] and its weight: the lipstick's opacity (0 if none).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    shades = torch.tensor([m.lipstick if m is not None and m.lipstick else (0.0, 0.0, 0.0) for m in batch.makeups])
    weight = torch.tensor([m.lip_opacity if m is not None and m.lipstick else 0.0 for m in batch.makeups])
    return shades.float(), weight.float()


@own_random_stream
def train_shade_head(model: DomainEncoder, cfg: ShadeConfig, callback=None, run_dir=None,
                     log_every: int = 500) -> list[float]:
    """Stage 2: fit ``model.shade`` on the frozen encoder's outputs for fresh renders; return the loss history.

    The loss is the squared sRGB error of the shade, weighted by the lipstick's opacity (a face without
    lipstick has no shade to read). Everything but the shade head is left as it is. A ``train.run.Run``:
    ``callback(run)`` every ``log_every`` steps, checkpoints and exact resume with ``run_dir``.
    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py)."""
    torch.manual_seed(cfg.seed)  # the head's init (own_random_stream: the caller's stream does not move)
    gen = torch.Generator().manual_seed(cfg.seed)
    model.eval()
    inputs, shades, weights = [], [], []
    with torch.no_grad():
        for start in range(0, cfg.faces, 256):
            batch = faces.render_indices(range(start, min(start + 256, cfg.faces)), seed=cfg.seed, size=64, makeup=0.9)
            out = model(degrade(batch.images, gen))
            inputs.append(model.shade_input(out, standardise=False))
            s, w = shade_targets(batch)
            shades.append(s), weights.append(w)
    x, y, w = torch.cat(inputs), torch.cat(shades), torch.cat(weights)
    model.shade_mean.copy_(x.mean(0))
    model.shade_std.copy_(x.std(0) + 1e-4)
    x = (x - model.shade_mean) / model.shade_std
    for layer in model.shade:
        if isinstance(layer, nn.Linear):
            layer.reset_parameters()
    opt = torch.optim.Adam(model.shade.parameters(), lr=cfg.lr)
    sched = cosine_decay(opt, cfg.steps)
    run = Run("shade head", cfg.steps, nets={"shade": model.shade}, optimizers={"opt": opt}, config=config_dict(cfg),
              run_dir=run_dir, state={"gen": (gen.get_state, gen.set_state), "sched": (sched.state_dict, sched.load_state_dict)},
              checkpoint_every=log_every if run_dir is not None else 0, callbacks=[callback] if callback else (),
              callback_every=log_every, same_config=True)
    run.resume()
    for _ in run:
        i = torch.randint(0, len(x), (cfg.batch_size,), generator=gen)
        pred = torch.sigmoid(model.shade(x[i]))
        value = ((pred - y[i]).pow(2).sum(1) * w[i]).sum() / w[i].sum().clamp_min(1e-6)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        sched.step()
        run.end_step({"loss": value.item()})
    run.finish()
    return run.history["loss"]


@torch.no_grad()
def read_out(model: DomainEncoder, images: torch.Tensor, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Read attributes off images: tone (Monk 1-10), region colours and the lipstick shade (sRGB), P(worn), hair classes, geometry
    (``GEOMETRY``, scaled to [0, 1] by ``faces.RANGES``) and the 256-d features.

    ``model``: a DomainEncoder, or what ``load_shipped`` returns. Taught in 03_dcgan_faces, section 6."""
    model = getattr(model, "model", model).eval()
    parts = [model(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    out = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    res = {"tone": (out["tone"][:, 0] * 9 + 1).clamp(1, 10).numpy(), "features": out["features"].numpy(),
           "worn": torch.sigmoid(out["worn"]).numpy(), "hair_style": out["hair_style"].argmax(1).numpy(),
           "hair_colour": out["hair_colour"].argmax(1).numpy(), "geometry": out["geometry"].numpy()}
    for r in (*COLOUR_REGIONS, "lipstick"):
        res[f"{r}_rgb"] = out[f"{r}_rgb"].clamp(0, 1).numpy()
    return res


def evaluate(model: DomainEncoder, n: int = 1000, seed: int = 999) -> dict[str, float]:
    """Measure the encoder on held-out renders: colour errors in dE2000, tone MAE, accuracies.

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    from course_lib import colour

    batch = faces.render_indices(range(n), seed=seed, size=64, makeup=0.7)
    pred, tgt = read_out(model, batch.images), targets(batch)
    res: dict[str, float] = {}
    for r in COLOUR_REGIONS:
        ok = ~torch.isnan(tgt[f"{r}_rgb"][:, 0])
        res[f"{r}_dE2000"] = float(np.mean(colour.delta_e2000(pred[f"{r}_rgb"][ok.numpy()], tgt[f"{r}_rgb"][ok].numpy())))
    shade, weight = shade_targets(batch)
    on = (weight >= 0.5).numpy()  # faces wearing lipstick (the data's opacities are 0.7-1)
    res["lipstick_shade_dE2000"] = float(np.mean(colour.delta_e2000(pred["lipstick_rgb"][on], shade[on].numpy())))
    res["tone_mae"] = float(np.abs(pred["tone"] - (tgt["tone"][:, 0].numpy() * 9 + 1)).mean())
    res["worn_accuracy"] = float(((pred["worn"] > 0.5) == (tgt["worn"].numpy() > 0.5)).mean())
    res["hair_style_accuracy"] = float((pred["hair_style"] == tgt["hair_style"].numpy()).mean())
    res["hair_colour_accuracy"] = float((pred["hair_colour"] == tgt["hair_colour"].numpy()).mean())
    return {k: round(v, 4) for k, v in res.items()}


def config_dict(cfg: EncoderConfig) -> dict:
    """The config as a plain dict (for the checkpoint manifest).

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """
    return asdict(cfg)


@dataclass
class ShippedEncoder:
    """The shipped encoder, ready for read-outs, with its measured accuracy.

    Not in the notebooks: how the domain encoder is built, trained and read (tools/train_checkpoints.py).
    """

    model: DomainEncoder
    metrics: dict
    config: dict


def load_shipped(name: str = "encoder", directory=None) -> ShippedEncoder:
    """Load the shipped domain encoder (hash-checked, weights only) in eval mode on the CPU.

    Taught in 03_dcgan_faces, section 5.
    """
    from course_lib import checkpoints

    state, entry = checkpoints.load(name, directory, keys=("encoder",))
    model = DomainEncoder()
    model.load_state_dict(state["encoder"])
    return ShippedEncoder(model.eval(), entry.metrics, entry.config)
