"""A projected discriminator: D also judges each image through the eyes of a frozen, pretrained network.

Projected GANs (Sauer et al. 2021) train D on the features of a network pretrained for something else, and
report that GANs then converge many times faster: D need not first learn what a face's parts look like. Here
the pixel D keeps its place and the projected heads add to its logit:

    D(x) = D_pixel(x) + sum_l head_l(P_l f_l(x))

- f_l: the feature maps of a frozen network at three depths. In the course it is the region parser of the shipped
  ``layered64`` model (``ParserTaps``), trained only to find lips, eyelids, cheeks and skin on SynthFaces,
  never on what the course measures G with (the domain encoder), so D does not learn the ruler;
- P_l: a fixed random 1x1 conv to ``width`` channels (the paper's "cross-channel mixing"): it spreads each
  feature over every channel, so that no single pretrained feature dominates what the head can see;
- head_l: strided 4x4 convs down to 4 x 4, then one 4x4 conv to one logit per image.

Gradients flow through f to the input (G learns from them, and the R1 penalty sees them); f's own weights never
change and it stays in eval mode, whatever ``train()`` says. Initialise D (``dcgan_init``) before wrapping it: applied
to the wrapper, an init would also overwrite the frozen network and the fixed mixing.
Measured in the recipe ladder (``benchmarks/gan_ladder.py``, rungs ``projected`` and ``projected32``; README).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
import torch.nn.functional as F

from course_lib.models.common import check_positive


def _fixed_mix(c_in: int, c_out: int, generator: torch.Generator) -> nn.Conv2d:
    """A 1x1 conv with random weights N(0, 1 / c_in) that never train."""
    conv = nn.Conv2d(c_in, c_out, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / c_in ** 0.5)
    conv.weight.requires_grad_(False)
    return conv


def _head(c_in: int, resolution: int, width: int, generator: torch.Generator) -> nn.Sequential:
    layers: list[nn.Module] = [_fixed_mix(c_in, width, generator)]
    while resolution > 4:
        layers += [nn.Conv2d(width, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        resolution //= 2
    return nn.Sequential(*layers, nn.Conv2d(width, 1, 4, 1, 0))


class ProjectedDiscriminator(nn.Module):
    """A discriminator ``D`` (images -> logits (B,)) plus projected heads on a frozen feature network.

    ``features``: a module, images ``(B, 3, s, s)`` -> a list of feature maps whose channels are ``channels``
    and whose sides are ``s / strides``; it is frozen here (no gradient to its weights, always in eval mode).
    ``feature_size``: the side images are resized to (bilinear) before ``features``, e.g. the size the network
    was trained at; None: as they come. ``width``: the heads' channels; ``seed``: the fixed random mixing.
    Taught in 03_dcgan_faces, section 4.
    """

    def __init__(self, D: nn.Module, features: nn.Module, channels: Sequence[int], strides: Sequence[int], size: int,
                 feature_size: int | None = None, width: int = 64, seed: int = 0):
        super().__init__()
        for name, module in (("D", D), ("features", features)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
        check_positive(size=size, width=width, **({"feature_size": feature_size} if feature_size is not None else {}))
        channels, strides = list(channels), list(strides)
        if not channels or len(channels) != len(strides):
            raise ValueError(f"channels and strides must be non-empty and of the same length, got {channels} and {strides}")
        if getattr(D, "size", size) != size:
            raise ValueError(f"size must be the size D takes ({D.size}), got {size}")
        side = feature_size or size
        for s in strides:  # each head halves its map down to 4 x 4: the map's side must be 4 times a power of two
            n = side // s if side % s == 0 else 0
            if n < 4 or n & (n - 1):
                raise ValueError(f"with strides {strides}, {'feature_size' if feature_size else 'size'} must make every "
                                 f"feature map's side a power of two and at least 4 (side / stride), got {side}")
        self.D, self.features, self.size, self.feature_size = D, features, size, feature_size
        for p in features.parameters():
            p.requires_grad_(False)
        generator = torch.Generator().manual_seed(seed)
        self.heads = nn.ModuleList(_head(c, side // s, width, generator) for c, s in zip(channels, strides))
        self.features.eval()

    def train(self, mode: bool = True) -> "ProjectedDiscriminator":
        super().train(mode)
        self.features.eval()  # frozen: its batch norm keeps the statistics it was trained with
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.D(x)  # checks x's shape
        if self.feature_size is not None and x.shape[-1] != self.feature_size:
            x = F.interpolate(x, size=self.feature_size, mode="bilinear", align_corners=False)
        maps = list(self.features(x))
        if len(maps) != len(self.heads):
            raise ValueError(f"features returned {len(maps)} maps, but there are {len(self.heads)} heads (one per stride)")
        return logits + sum(head(f).flatten(1).mean(1) for head, f in zip(self.heads, maps))


class ParserTaps(nn.Module):
    """A ``RegionParser``'s encoder as a feature network: images -> its maps at 1/2, 1/4 and 1/8 of the side.

    Not in the notebooks: a building block of ``projected_parser_d``.
    """

    def __init__(self, parser: nn.Module):
        super().__init__()
        if not all(hasattr(parser, k) for k in ("e1", "e2", "e3", "e4", "width")):
            raise TypeError(f"parser must be a RegionParser (a U-Net with encoder blocks e1-e4), got {type(parser).__name__}")
        self.parser = parser
        w = parser.width
        self.channels, self.strides = (2 * w, 4 * w, 4 * w), (2, 4, 8)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        p = self.parser
        h2 = p.e2(p.e1(x))
        h3 = p.e3(h2)
        return [h2, h3, p.e4(h3)]


def projected_parser_d(D: nn.Module, parser: nn.Module, size: int, feature_size: int | None = None,
                       width: int = 64) -> ProjectedDiscriminator:
    """``D`` with projected heads on ``parser``'s encoder (a ``RegionParser``, e.g. ``layered64``'s).

    Not in the notebooks: what ``train.recipes.Recipe.models`` builds for a recipe with ``d["projected"]``.
    """
    taps = ParserTaps(parser)
    return ProjectedDiscriminator(D, taps, taps.channels, taps.strides, size, feature_size=feature_size, width=width)

