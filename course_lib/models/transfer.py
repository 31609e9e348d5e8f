"""Makeup transfer networks (05_makeup_transfer).

- ``TryOnGenerator``: (source, style vector) -> made-up source, the product path. A small U-Net predicts
  *where* each product goes (soft masks for lips, eyeshadow zone, cheeks, eyeliner) and a FiLM-conditioned
  residual; *how* a colour looks on skin comes from the differentiable makeup layer model
  (``makeup.composite``). Trained pix2pix-style on SynthFaces pairs (L1 + adversarial + the true masks as
  an auxiliary target at training time only); at inference it needs only the photo and the style.
- ``StyleEncoder``: reference face -> style vector, so the same generator applies a reference's makeup.
- ``ReferenceTransferGenerator``: BeautyGAN (Li et al. 2018), scaled down: two stems (source, reference),
  shared residual blocks, two heads (made-up source, de-made-up reference). Trained *unpaired*, with
  cycle, identity and region histogram losses.
- ``LayeredTransfer``: the same task, unpaired, with makeup as layers: a region parser finds where the products
  are, the reference's style is read by fitting the layer model to it, and the layer model puts it on the source.
- ``PatchDiscriminator``: PatchGAN (Isola et al. 2017) with spectral norm: one logit per image patch.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

from course_lib.makeup import OPACITY_INDEX, PRODUCT_MASK, VECTOR_FIELDS
from course_lib.models.common import check_positive
from course_lib.models.conditional import FiLM, check_cond

MASK_REGIONS = tuple(PRODUCT_MASK.values())  # ("lips", "eyeshadow", "cheeks", "liner"): one mask per product
_OPACITY_INDEX = tuple(OPACITY_INDEX[product] for product in PRODUCT_MASK)  # each MASK_REGIONS region's opacity


def _check_images(x: object, name: str, size: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor (B, 3, H, W) in [-1, 1], got {shape}")
    if size is not None and x.shape[-2:] != (size, size):
        raise ValueError(f"{name} must be {size} x {size} pixels (the size this model was trained at), got {tuple(x.shape[-2:])}; "
                         "tryon.apply_shade / apply_reference crop and resize photos for you")
    return x


def _by_region(probs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split mask probabilities (B, 4, H, W) into ``{region: (B, 1, H, W)}`` in ``MASK_REGIONS`` order."""
    return dict(zip(MASK_REGIONS, probs.split(1, dim=1)))


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def _merge(c_in: int, c_out: int) -> nn.Sequential:
    """Decoder step after a skip connection: a 1x1 conv mixes the concatenated maps down to ``c_out`` channels,
    then a 3x3 conv; half the cost of one 3x3 conv on the wide concatenation, which matters at 64 x 64."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), _conv(c_out, c_out))


class _UNet(nn.Module):
    """The small U-Net of the try-on generator and the region parser: (B, c_in, 64, 64) -> features (B, w, 64, 64).

    16 @ 64 -> 32 @ 32 -> 64 @ 16 -> 64 @ 8 (width 16), then up with skip connections back to w @ 64.
    """

    def _build_unet(self, c_in: int, w: int) -> None:
        self.e1, self.e2, self.e3, self.e4 = _conv(c_in, w), _conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w, 2)
        self.d3, self.d2, self.d1 = _merge(8 * w, 4 * w), _merge(6 * w, 2 * w), _merge(3 * w, w)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def _decode(self, source: torch.Tensor) -> torch.Tensor:
        h1 = self.e1(source)  # (B, w, 64, 64)
        h2 = self.e2(h1)  # (B, 2w, 32, 32)
        h3 = self.e3(h2)  # (B, 4w, 16, 16)
        h4 = self.e4(h3)  # (B, 4w, 8, 8)
        u3 = self.d3(torch.cat([self.up(h4), h3], 1))  # (B, 4w, 16, 16)
        u2 = self.d2(torch.cat([self.up(u3), h2], 1))  # (B, 2w, 32, 32)
        return self.d1(torch.cat([self.up(u2), h1], 1))  # (B, w, 64, 64)


class TryOnGenerator(_UNet):
    """(source, style) -> source wearing the style, via predicted masks and the makeup layer model.

    64 px, width 16: source (B, 3, 64, 64) -> 16 @ 64 -> 32 @ 32 -> 64 @ 16 -> 64 @ 8, then up with skip
    connections to 16 @ 64 -> 4 mask logits, and FiLM(style) -> a small RGB residual where products are worn.
    ``forward(source, style, intensity=1.0)`` returns images in [-1, 1]; ``predict_masks(source)`` returns the
    soft masks ``{region: (B, 1, H, W)}``, which ``tryon`` upsamples to apply makeup to full-size photos.
    Taught in 05_makeup_transfer, section 4.
    """

    def __init__(self, width: int = 16, cond_dim: int = len(VECTOR_FIELDS), size: int = 64, residual: float = 0.05):
        super().__init__()
        check_positive(width=width, cond_dim=cond_dim, size=size)
        w = width
        self.width, self.cond_dim, self.size, self.residual = width, cond_dim, size, residual
        self._build_unet(3, w)
        self.mask_head = nn.Conv2d(w, len(MASK_REGIONS), 3, 1, 1)
        self.film = FiLM(w, cond_dim)
        self.rgb_head = nn.Conv2d(w, 3, 1)
        nn.init.zeros_(self.rgb_head.weight), nn.init.zeros_(self.rgb_head.bias)  # starts as the pure layer model

    def mask_logits(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (mask logits (B, 4, H, W), decoder features (B, w, H, W))."""
        h = self._decode(_check_images(source, "source", self.size))
        return self.mask_head(h), h

    def predict_masks(self, source: torch.Tensor) -> dict[str, torch.Tensor]:
        """Where each product goes on ``source``: ``{"lips", "eyeshadow", "cheeks", "liner"}`` -> (B, 1, H, W) in [0, 1]."""
        logits, _ = self.mask_logits(source)
        return _by_region(torch.sigmoid(logits))

    def forward(self, source: torch.Tensor, style: torch.Tensor, intensity: torch.Tensor | float = 1.0,
                return_masks: bool = False):
        from course_lib.makeup import composite

        logits, h = self.mask_logits(source)
        style = check_cond(style, source.shape[0], self.cond_dim).to(source.dtype)
        probs = torch.sigmoid(logits)  # (B, 4, H, W)
        masks = _by_region(probs)
        made = composite((source + 1) / 2, masks, style, intensity)  # the layer model: (B, 3, H, W) in [0, 1]
        # The residual acts only where a product is worn, in proportion to its opacity x intensity: with every
        # opacity 0 (or intensity 0) the output is the source, and switching a region off removes all of it.
        amount = style[:, list(_OPACITY_INDEX)] * torch.as_tensor(intensity, dtype=style.dtype).reshape(-1, 1)
        where = (probs * amount[:, :, None, None]).amax(1, keepdim=True)
        made = made + self.residual * torch.tanh(self.rgb_head(torch.relu(self.film(h, style)))) * where
        out = made.clamp(0, 1) * 2 - 1
        return (out, masks) if return_masks else out


class StyleEncoder(nn.Module):
    """Reference face (B, 3, 64, 64) -> its makeup as a style vector (B, 18) in [0, 1] (``makeup.VECTOR_FIELDS``).

    Taught in 05_makeup_transfer, section 4.
    """

    def __init__(self, width: int = 16, cond_dim: int = len(VECTOR_FIELDS), size: int = 64):
        super().__init__()
        check_positive(width=width, cond_dim=cond_dim, size=size)
        self.size, self.cond_dim = size, cond_dim
        w = width
        self.net = nn.Sequential(_conv(3, w), _conv(w, 2 * w, 2), _conv(2 * w, 4 * w, 2), _conv(4 * w, 8 * w, 2),
                                 _conv(8 * w, 8 * w, 2))  # (B, 8w, 4, 4): each cell sees a face region
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * w * (size // 16) ** 2, 128), nn.ReLU(inplace=True),
                                  nn.Linear(128, cond_dim))

    def forward(self, reference: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.net(_check_images(reference, "reference", self.size))))


PARSE_REGIONS = (*MASK_REGIONS, "skin")  # what the region parser finds: the makeup regions and the skin around them


class RegionParser(_UNet):
    """Face (B, 3, 64, 64) -> soft masks of ``PARSE_REGIONS``: where each product goes, and the skin.

    The face parser BeautyGAN borrows for its losses, here trained on SynthFaces' masks of bare and made-up
    faces alike (never on a transfer's target). The same U-Net as the try-on generator, with its own weights.
    Not in the notebooks: a building block of ``LayeredTransfer``.
    """

    def __init__(self, width: int = 16, size: int = 64):
        super().__init__()
        check_positive(width=width, size=size)
        self.width, self.size = width, size
        self._build_unet(3, width)
        self.head = nn.Conv2d(width, len(PARSE_REGIONS), 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mask logits (B, 5, H, W) in ``PARSE_REGIONS`` order."""
        return self.head(self._decode(_check_images(x, "image", self.size)))

    def masks(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{region: (B, 1, H, W)}`` probabilities for each of ``PARSE_REGIONS``."""
        return dict(zip(PARSE_REGIONS, torch.sigmoid(self(x)).split(1, dim=1)))


class LayeredTransfer(nn.Module):
    """Unpaired reference transfer with makeup as layers: ``G(x, y) = (x_B, y_A)``, BeautyGAN's two outputs.

        masks:      P(x), P(y)                           the region parser (the only trained part)
        y_A       = makeup.bare_estimate(y, P(y), t)     the reference with its makeup taken off (flat skin; lips
                                                         the skin times t, the natural lip tint of bare faces)
        s         = makeup.fit_style(y, y_A, P(y))       the 18 numbers that re-make y from y_A (analysis by synthesis)
        x_B       = makeup.composite(x, P(x), s)         the source wearing them

    BeautyGAN's cycle loss asks that putting the makeup back on y_A gives y; here the makeup is the layer model's
    18 numbers, so that reconstruction can be solved for s directly, and the output can change nothing but the
    products. No target and no style label is ever used. ``fit_steps`` trades time for accuracy of the read-out,
    which is most of the cost (about 0.36 s for one reference at 150 steps on 2 CPU cores: benchmarks/bench_tryon.py).
    Taught in 05_makeup_transfer, section 3.
    """

    def __init__(self, width: int = 16, size: int = 64, fit_steps: int = 150):
        super().__init__()
        check_positive(width=width, size=size, fit_steps=fit_steps)
        self.size, self.width, self.fit_steps = size, width, fit_steps
        self.parser = RegionParser(width, size)
        self.register_buffer("lip_tint", torch.ones(3))  # makeup.lip_tint of the training's bare faces

    def read_style(self, reference: torch.Tensor, masks: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (style vectors (B, 18), the bare estimate y_A (B, 3, H, W) in [-1, 1]) of ``reference``.

        ``masks``: the reference's regions (``PARSE_REGIONS``); the parser's when None."""
        from course_lib import makeup

        reference = _check_images(reference, "reference", self.size)
        with torch.no_grad():
            masks = self.parser.masks(reference) if masks is None else masks
            bare = makeup.bare_estimate(reference, masks, self.lip_tint)
        return makeup.fit_style(reference, bare, masks, steps=self.fit_steps), bare

    def forward(self, source: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from course_lib import makeup

        _check_images(source, "source", self.size)
        if source.shape[0] != _check_images(reference, "reference", self.size).shape[0]:
            raise ValueError(f"source and reference must hold the same number of images, got {source.shape[0]} and {reference.shape[0]}")
        style, bare = self.read_style(reference)
        made_up = makeup.composite((source + 1) / 2, self.parser.masks(source), style) * 2 - 1
        return made_up, bare


class _ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.InstanceNorm2d(ch, affine=True), nn.ReLU(inplace=True),
                                  nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.InstanceNorm2d(ch, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _stem(w: int) -> nn.Sequential:
    """7x7 conv then two stride-2 convs: (B, 3, H, W) -> (B, 4w, H/4, W/4), instance norm (BeautyGAN's choice)."""
    layers: list[nn.Module] = [nn.Conv2d(3, w, 7, 1, 3, bias=False), nn.InstanceNorm2d(w, affine=True), nn.ReLU(inplace=True)]
    for c in (w, 2 * w):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.InstanceNorm2d(2 * c, affine=True), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _head(w: int) -> nn.Sequential:
    """Two transposed convs back to full size, then 7x7 -> 3 channels: the change to make (a residual)."""
    layers: list[nn.Module] = []
    for c in (4 * w, 2 * w):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.InstanceNorm2d(c // 2, affine=True), nn.ReLU(inplace=True)]
    last = nn.Conv2d(w, 3, 7, 1, 3)
    nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)  # starts as the identity: out = input
    return nn.Sequential(*layers, last)


class ReferenceTransferGenerator(nn.Module):
    """BeautyGAN's generator, scaled down: G(source, reference) -> (made-up source, de-made-up reference).

    Two stems encode the two faces; their features are concatenated, fused (1x1 conv) and run through
    shared residual blocks; two heads decode a change for each input. Outputs are
    ``tanh(atanh(input) + head)``: the network starts as the identity and only learns the makeup.
    Taught in 05_makeup_transfer, section 3.
    """

    def __init__(self, width: int = 16, n_res: int = 3, size: int = 64):
        super().__init__()
        check_positive(width=width, n_res=n_res, size=size)
        self.size, self.width = size, width
        self.stem_src, self.stem_ref = _stem(width), _stem(width)
        self.fuse = nn.Sequential(nn.Conv2d(8 * width, 4 * width, 1, bias=False), nn.InstanceNorm2d(4 * width, affine=True),
                                  nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[_ResBlock(4 * width) for _ in range(n_res)])
        self.head_src, self.head_ref = _head(width), _head(width)

    def forward(self, source: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_images(source, "source", self.size), _check_images(reference, "reference", self.size)
        if source.shape[0] != reference.shape[0]:
            raise ValueError(f"source and reference must hold the same number of images, got {source.shape[0]} and {reference.shape[0]}")
        h = self.blocks(self.fuse(torch.cat([self.stem_src(source), self.stem_ref(reference)], 1)))
        made_up = torch.tanh(torch.atanh(source.clamp(-0.999, 0.999)) + self.head_src(h))
        bare = torch.tanh(torch.atanh(reference.clamp(-0.999, 0.999)) + self.head_ref(h))
        return made_up, bare


class PatchDiscriminator(nn.Module):
    """PatchGAN with spectral norm: (B, in_ch, 64, 64) -> logits (B, 1, 14, 14), each judging a 34 px patch.

    ``in_ch`` is 3 for an unconditional D, or more when the input is concatenated with what conditions it
    (pix2pix: the source image and the tiled style vector).
    Not in the notebooks: a building block of the library's models.
    """

    def __init__(self, in_ch: int = 3, width: int = 32, n_layers: int = 3):
        super().__init__()
        check_positive(in_ch=in_ch, width=width, n_layers=n_layers)
        sn = parametrizations.spectral_norm
        self.in_ch = in_ch
        layers: list[nn.Module] = [sn(nn.Conv2d(in_ch, width, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        ch = width
        for i in range(1, n_layers):
            stride = 2 if i < n_layers - 1 else 1
            layers += [sn(nn.Conv2d(ch, ch * 2, 4, stride, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        layers.append(sn(nn.Conv2d(ch, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.in_ch:
            raise ValueError(f"x must be a tensor (B, {self.in_ch}, H, W), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        return self.net(x)
