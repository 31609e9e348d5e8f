"""Conditional DCGAN (04_conditional_gan): G(z, c) and D(x, c) for a style vector c."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

from course_lib import validate
from course_lib.makeup.catalogue import VECTOR_FIELDS
from course_lib.models.common import check_positive
from course_lib.models.dcgan import n_blocks


class FiLM(nn.Module):
    """Conditional batch norm: normalise without a learned affine, then scale and shift from the condition.

    y = gamma(c) * BN(x) + beta(c) (Perez et al. 2018; de Vries et al. 2017). gamma starts at 1 and beta at
    0, so at initialisation the block is plain batch norm. Taught in 04_conditional_gan, section 4.
    """

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma, self.beta = nn.Linear(cond_dim, channels), nn.Linear(cond_dim, channels)
        nn.init.zeros_(self.gamma.weight), nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight), nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gamma(cond)[:, :, None, None] + self.beta(cond)[:, :, None, None]  # (B, C, H, W)


class CondGeneratorBlock(nn.Module):
    """Double the resolution with the condition steering every channel: ConvT(4, 2, 1) -> FiLM(c) -> ReLU.

    ``conditioned=False`` makes it a plain DCGAN block (batch norm with its own affine; ``cond`` is ignored).
    Not in the notebooks: a building block of the library's models.
    """

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, first: bool = False, conditioned: bool = True):
        super().__init__()
        # the first block maps (B, z [+ c], 1, 1) to 4x4; the others double the resolution
        self.conv = nn.ConvTranspose2d(in_ch, out_ch, 4, 1 if first else 2, 0 if first else 1, bias=False)
        self.conditioned = conditioned
        if conditioned:
            self.film = FiLM(out_ch, cond_dim)
        else:
            self.norm = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        return torch.relu(self.film(h, cond) if self.conditioned else self.norm(h))


def check_cond(cond: torch.Tensor, batch: int, cond_dim: int) -> torch.Tensor:
    """Return ``cond`` as a float tensor ``(batch, cond_dim)``, or raise naming what was expected.

    Not in the notebooks: a building block of the library's models.
    """
    if not isinstance(cond, torch.Tensor) or cond.shape != (batch, cond_dim):
        raise ValueError(f"cond must be a tensor of shape ({batch}, {cond_dim}) (one style vector per sample), "
                         f"got {tuple(cond.shape) if isinstance(cond, torch.Tensor) else type(cond).__name__}")
    validate.finite(cond, "cond")  # NaN passes any range check and would turn every pixel NaN
    if cond.numel() and (cond.min() < 0 or cond.max() > 1):
        raise ValueError(f"cond holds style vectors with values in [0, 1] (makeup.VECTOR_FIELDS), got values in "
                         f"[{cond.min().item():.3g}, {cond.max().item():.3g}]; build them with MakeupStyle(...).to_vector()")
    return cond


class ConditionalGenerator(nn.Module):
    """(z, c) -> image: a DCGAN generator whose input is [z, c] and whose batch norms are FiLM(c).

    For 64 px, width 32: [z, c] (B, 118, 1, 1) -> (B, 256, 4, 4) -> (B, 128, 8, 8) -> (B, 64, 16, 16)
    -> (B, 32, 32, 32) -> (B, 3, 64, 64).
    ``cond_from`` = k > 0 lets the condition in only from block k on (block 0 makes the 4x4 map): the coarse
    blocks, where a face's shape and hair take form, see z alone, so a change of makeup cannot move them;
    the makeup's colours enter at the finer scales, where the lips and eyes are (StyleGAN's coarse/fine split).
    Taught in 04_conditional_gan, section 3.
    """

    def __init__(self, z_dim: int = 100, cond_dim: int = len(VECTOR_FIELDS), size: int = 64, width: int = 32, cond_from: int = 0):
        super().__init__()
        check_positive(z_dim=z_dim, cond_dim=cond_dim, width=width)
        n = n_blocks(size)
        if isinstance(cond_from, bool) or not isinstance(cond_from, int) or not 0 <= cond_from < n:
            raise ValueError(f"cond_from must be an int in [0, {n - 1}] (the first block the condition steers), got {cond_from!r}")
        self.z_dim, self.cond_dim, self.size, self.width, self.cond_from = z_dim, cond_dim, size, width, cond_from
        ch = width * 2 ** (n - 1)
        blocks = [CondGeneratorBlock(z_dim + (cond_dim if cond_from == 0 else 0), ch, cond_dim, first=True,
                                     conditioned=cond_from == 0)]
        for i in range(1, n):
            blocks.append(CondGeneratorBlock(ch, ch // 2, cond_dim, conditioned=i >= cond_from))
            ch //= 2
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.ConvTranspose2d(ch, 3, 4, 2, 1)

    @classmethod
    def from_config(cls, config: dict) -> "ConditionalGenerator":
        """Build the generator a checkpoint's config describes (z_dim, cond_dim, size, width; cond_from, default 0).

        Not in the notebooks: a building block of the library's models."""
        return cls(**{k: config[k] for k in ("z_dim", "cond_dim", "size", "width")}, cond_from=config.get("cond_from", 0))

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        cond = check_cond(cond, z.shape[0], self.cond_dim).to(z.dtype)
        # the condition enters at the input and at every block through FiLM (from block cond_from on, if > 0)
        h = (torch.cat([z, cond], 1) if self.cond_from == 0 else z)[:, :, None, None]
        for block in self.blocks:
            h = block(h, cond)
        return torch.tanh(self.out(h))


class ConditionalDiscriminator(nn.Module):
    """D(x, c) -> logits (B,), with spectral norm. Two ways to use the condition (``mode``):

    - "projection" (Miyato & Koyama 2018): logits = psi(phi(x)) + <embed(c), phi(x)>, where phi(x) is the
      (B, F) feature vector of the image; the condition only tilts D's verdict along its embedding.
    - "concat": c is tiled into extra input channels, (B, 3 + cond_dim, H, W), and D is an ordinary CNN.
    With ``regress=True`` D also has a head that reads the style off an image, ``D(x, c, return_style=True)``
    -> (logits, predicted styles): ``train.fit`` trains it on real faces and asks G for fakes it reads as
    the requested style (``losses.style_regression_loss``; ``TrainConfig.style_weight``).
    Taught in 04_conditional_gan, section 3.
    """

    def __init__(self, cond_dim: int = len(VECTOR_FIELDS), size: int = 64, width: int = 32, mode: str = "projection",
                 regress: bool = False):
        super().__init__()
        if mode not in ("projection", "concat"):
            raise ValueError(f"mode must be 'projection' or 'concat', got {mode!r}")
        check_positive(cond_dim=cond_dim, width=width)
        n = n_blocks(size)
        self.cond_dim, self.size, self.mode = cond_dim, size, mode
        sn = parametrizations.spectral_norm
        ch_in = 3 + (cond_dim if mode == "concat" else 0)
        layers: list[nn.Module] = [sn(nn.Conv2d(ch_in, width, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        ch = width
        for _ in range(n - 1):
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        self.phi = nn.Sequential(*layers)  # (B, ch, 4, 4)
        self.features = ch
        self.psi = sn(nn.Linear(ch, 1))
        self.embed = sn(nn.Linear(cond_dim, ch, bias=False)) if mode == "projection" else None
        # the style read-out sees the whole (B, F, 4, 4) map, not its pooled sum: *where* a colour is tells
        # lipstick from blush and eyeshadow (with the sum, only the channel could)
        self.regress = nn.Linear(ch * 16, cond_dim) if regress else None  # (B, F * 16) -> (B, cond_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, return_style: bool = False):
        if x.dim() != 4 or x.shape[1:] != (3, self.size, self.size):
            raise ValueError(f"x must have shape (B, 3, {self.size}, {self.size}), got {tuple(x.shape)}")
        cond = check_cond(cond, x.shape[0], self.cond_dim).to(x.dtype)
        if self.mode == "concat":
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, self.size, self.size)], 1)
        f = self.phi(x)  # (B, F, 4, 4)
        h = f.sum((2, 3))  # (B, F): global sum pooling
        logits = self.psi(h)[:, 0]
        if self.embed is not None:
            logits = logits + (self.embed(cond) * h).sum(1)  # the projection term <embed(c), phi(x)>
        if return_style:
            if self.regress is None:
                raise ValueError("return_style=True needs a discriminator built with regress=True")
            return logits, torch.sigmoid(self.regress(f.flatten(1)))  # styles live in [0, 1]
        return logits
