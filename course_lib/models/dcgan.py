"""DCGAN (03_dcgan_faces): Radford et al. 2016, for 32, 64 and 128 px images."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from course_lib.models.common import check_positive

DCGAN_SIZES = (32, 64, 128)


def n_blocks(size: int) -> int:
    """The number of resolution-doubling blocks from 4 px to ``size`` (a power of two >= 8).

    Not in the notebooks: a building block of the library's models.
    """
    if size not in DCGAN_SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, DCGAN_SIZES))}, got {size!r}")
    return int(math.log2(size)) - 2  # 4x4 -> size doubles this many times: 32 -> 3, 64 -> 4, 128 -> 5


def generator_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Double the resolution: transposed conv (kernel 4, stride 2, padding 1) -> batch norm -> ReLU.

    ``(B, in_ch, H, W) -> (B, out_ch, 2H, 2W)``. Taught in 03_dcgan_faces, section 2 (exercise 3.1).
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),  # no bias: batch norm re-centres
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ResidualUpBlock(nn.Module):
    """DCGAN's doubling block with a second 3x3 conv and a shortcut (a ResNet basic block that upsamples, as in the
    residual GANs of Miyato et al. 2018 and Brock et al. 2019, kept post-activation to fit DCGAN's layers).

    ``main = BN(conv3x3(ReLU(BN(convT4x4/2(x)))))``, ``skip = BN(conv1x1(nearest2x(x)))``, output ``ReLU(main + skip)``:
    ``(B, in_ch, H, W) -> (B, out_ch, 2H, 2W)``, about twice the block's compute.
    Not in the notebooks: the recipe ladder's ``residual`` rung.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True), nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False), nn.BatchNorm2d(out_ch))
        self.skip = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 1, bias=False),
                                  nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.main(x) + self.skip(x))


class PixelNorm(nn.Module):
    """Scale each pixel's feature vector to unit root-mean-square: x / sqrt(mean_c x^2 + 1e-8) (ProGAN, sec. 4.2).

    A per-sample normalisation: unlike batch norm, a sample's output does not depend on the rest of its batch,
    so training mode and eval mode compute the same thing and an averaged (EMA) generator needs no statistics.
    Not in the notebooks: a building block of the library's models.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.float().pow(2).mean(dim=1, keepdim=True) + 1e-8).to(x.dtype)


G_NORMS = ("batch", "pixel")
G_UPSAMPLES = ("transposed", "nearest")
G_OUTPUTS = ("last", "skip")
G_BLOCKS = ("dcgan", "residual")


class DCGANGenerator(nn.Module):
    """Noise ``(B, z_dim)`` -> images ``(B, 3, size, size)`` in [-1, 1].

    For 64 px and width 64 (pytorch/examples' ngf):
    z (B, 100, 1, 1) -> (B, 512, 4, 4) -> (B, 256, 8, 8) -> (B, 128, 16, 16) -> (B, 64, 32, 32) -> (B, 3, 64, 64).
    ``norm`` follows every layer but the last: "batch" (DCGAN's batch norm, ``generator_block``) or "pixel"
    (``PixelNorm``, per sample: the EMA generator then needs no batch statistics of its own).
    ``upsample``: "transposed" (DCGAN's kernel-4, stride-2 transposed convolutions) or "nearest": nearest-
    neighbour doubling followed by a 3x3 convolution, which cannot make the checkerboard pattern of a
    transposed convolution whose kernel overlaps unevenly (Odena et al. 2016, "Deconvolution and
    Checkerboard Artifacts").
    ``output``: "last" (DCGAN: the image is the last layer's output) or "skip" (StyleGAN2's skip generator,
    Karras et al. 2020, sec. 4.1): every resolution from 4 px up has its own 1x1 "toRGB" convolution, and the
    image is built coarse to fine, ``img = up2(img) + toRGB(h)`` with bilinear ``up2``, then tanh: the low
    resolutions paint the large-scale picture and the high ones add detail. (A ladder alternative: at its
    budget it did not make the samples less grainy.) ``block``: "dcgan" (``generator_block``) or "residual"
    (``ResidualUpBlock``: a second conv and a shortcut in every doubling block below the last; with batch norm and
    transposed convs). ``block_fn(in_ch, out_ch)`` builds DCGAN's doubling
    blocks instead of ``generator_block`` (03_dcgan_faces builds its generator from the block you write).
    Taught in 03_dcgan_faces, section 2.
    """

    def __init__(self, z_dim: int = 100, size: int = 64, width: int = 64, norm: str = "batch",
                 upsample: str = "transposed", output: str = "last", block: str = "dcgan",
                 block_fn: Callable[[int, int], nn.Module] | None = None):
        super().__init__()
        check_positive(z_dim=z_dim, width=width)
        if block not in G_BLOCKS:
            raise ValueError(f"block must be one of {', '.join(G_BLOCKS)}, got {block!r}")
        if block == "residual":
            if block_fn is not None or (norm, upsample) != ("batch", "transposed"):
                raise ValueError("block='residual' builds its own blocks (batch norm, transposed convolutions); it cannot "
                                 f"be combined with block_fn or norm={norm!r}, upsample={upsample!r}")
            block_fn = ResidualUpBlock
        if block_fn is not None and (norm, upsample) != ("batch", "transposed"):
            raise ValueError(f"block_fn replaces DCGAN's block (batch norm, transposed convolutions); it cannot be "
                             f"combined with norm={norm!r}, upsample={upsample!r}")
        if norm not in G_NORMS:
            raise ValueError(f"norm must be one of {', '.join(G_NORMS)}, got {norm!r}")
        if upsample not in G_UPSAMPLES:
            raise ValueError(f"upsample must be one of {', '.join(G_UPSAMPLES)}, got {upsample!r}")
        if output not in G_OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(G_OUTPUTS)}, got {output!r}")
        n = n_blocks(size)
        self.z_dim, self.size, self.width, self.norm, self.upsample, self.output = z_dim, size, width, norm, upsample, output
        self.block = block

        def conv(in_ch: int, out_ch: int, first: bool = False, bias: bool = False) -> list[nn.Module]:
            if first:  # (1, 1) -> (4, 4)
                return [nn.ConvTranspose2d(in_ch, out_ch, 4, 1, 0, bias=bias)]
            if upsample == "transposed":
                return [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=bias)]
            return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias)]

        def up(in_ch: int, out_ch: int, first: bool = False) -> list[nn.Module]:
            if norm == "batch":  # no bias: batch norm re-centres
                return [*conv(in_ch, out_ch, first), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
            return [*conv(in_ch, out_ch, first, bias=True), PixelNorm(), nn.ReLU(inplace=True)]

        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = up(z_dim, ch, first=True)  # (B, ch, 4, 4)
        self.n_stem = len(layers)
        dcgan = (norm, upsample) == ("batch", "transposed")  # DCGAN's block is exactly generator_block
        rgb_ch = [ch]  # the channels at each resolution below the last: 4 px, 8 px, ...
        for _ in range(n - 1):  # resolution x2, channels / 2
            layers.append((block_fn or generator_block)(ch, ch // 2) if dcgan else nn.Sequential(*up(ch, ch // 2)))
            ch //= 2
            rgb_ch.append(ch)
        head = conv(ch, 3, bias=True)  # the last doubling, to 3 channels
        self.n_head = len(head)
        layers += [*head, nn.Tanh()]  # (B, 3, size, size)
        self.net = nn.Sequential(*layers)
        if output == "skip":  # one toRGB per resolution below the last (the last conv is the top one)
            self.to_rgb = nn.ModuleList(nn.Conv2d(c, 3, 1) for c in rgb_ch)

    @classmethod
    def from_config(cls, config: dict) -> "DCGANGenerator":
        """Build the generator a checkpoint's config describes (z_dim, size, width; norm, upsample, output and block,
        with DCGAN's defaults)."""
        return cls(**{k: config[k] for k in ("z_dim", "size", "width")}, norm=config.get("norm", "batch"),
                   upsample=config.get("upsample", "transposed"), output=config.get("output", "last"),
                   block=config.get("block", "dcgan"))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.output == "skip":
            return self.image_at(z, self.size)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])

    def image_at(self, z: torch.Tensor, res: int, alpha: float = 1.0) -> torch.Tensor:
        """The skip generator's image built only up to ``res`` px, ``(B, 3, res, res)``, with the finest
        resolution's contribution weighted ``alpha``: ``img_r = up2(img_{r/2}) + alpha * toRGB_r(h_r)``, then tanh.
        ``image_at(z, size)`` is ``forward(z)``; progressive growing (``models.GrowingGenerator``) draws below it and
        fades each new resolution in. Not in the notebooks: the recipe ladder's ``progressive`` rung.
        """
        if self.output != "skip":
            raise ValueError("image_at needs the skip generator (output='skip'): only it has an image at every resolution")
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        sizes = [2 ** k for k in range(3, int(math.log2(self.size)) + 1)]
        if res not in sizes or isinstance(res, bool) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"res must be one of {sizes} and alpha a number in [0, 1], got res={res!r}, alpha={alpha!r}")

        def faded(contribution: torch.Tensor) -> torch.Tensor:  # the finest resolution's share (exact when alpha is 1)
            return contribution if alpha == 1.0 else alpha * contribution

        layers = list(self.net)
        h = _run(layers[: self.n_stem], z[:, :, None, None])  # (B, ch, 4, 4)
        img, side = self.to_rgb[0](h), 4
        for block, to_rgb in zip(layers[self.n_stem : -1 - self.n_head], self.to_rgb[1:]):  # 8 px, ..., size / 2
            if side == res:
                break
            h, side = block(h), side * 2
            img = _up2(img) + (faded(to_rgb(h)) if side == res else to_rgb(h))
        if side < res:  # res == size: the top conv is its own toRGB
            img = _up2(img) + faded(_run(layers[-1 - self.n_head : -1], h))
        return torch.tanh(img)


def _run(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Apply ``layers`` in order (a slice of ``DCGANGenerator.net``, without wrapping it in a new module)."""
    for layer in layers:
        x = layer(x)
    return x


def _up2(img: torch.Tensor) -> torch.Tensor:
    """Double an image's resolution by bilinear interpolation (the skip generator's smooth upsampling)."""
    return nn.functional.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)


def minibatch_std(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one feature map: how much the samples of a small group differ (ProGAN, Karras et al. 2018, sec. 3).

    ``(B, C, H, W) -> (B, C + 1, H, W)``. Split the batch into groups of ``group_size`` consecutive samples
    (samples 0-3 are group 0, ...; a batch that is not a multiple of ``group_size`` uses the largest group
    size that divides it), take the standard deviation of every feature and position over each group (the
    population std, with 1e-8 under the square root so that identical samples have a finite gradient),
    average it over features and positions, and append that one number per group to each of its samples as
    a constant map. A generator that draws the same face again and again gives groups with a small std,
    which D can now see and punish: a cheap fix for mode collapse.
    Taught in 03_dcgan_faces, section 4 (exercise 3.3).
    """
    B, C, H, W = x.shape
    g = math.gcd(B, group_size)
    y = x.float().reshape(B // g, g, C, H, W)  # (groups, g, C, H, W)
    # the variance as the mean square deviation, written out: torch's var over this (not innermost) dimension is
    # about 5x slower on a CPU, forward and backward (6.8 vs 1.5 ms for D's last 64 x 128 x 4 x 4 features on
    # 2 AMD EPYC cores), which made the fast recipe's training step about 15 % slower
    var = (y - y.mean(dim=1, keepdim=True)).square().mean(dim=1)
    std = (var + 1e-8).sqrt()  # (groups, C, H, W): std over each group's samples
    s = std.mean(dim=(1, 2, 3)).repeat_interleave(g)  # (B,): one number per group, given to each of its samples
    return torch.cat([x, s[:, None, None, None].expand(B, 1, H, W).to(x.dtype)], dim=1)


class MinibatchStd(nn.Module):
    """``minibatch_std`` as a layer; ``fn`` swaps in another implementation of it (yours, in notebook 03).

    Not in the notebooks: a building block of the library's models.
    """

    def __init__(self, group_size: int = 4, fn: Callable[[torch.Tensor, int], torch.Tensor] | None = None):
        super().__init__()
        check_positive(group_size=group_size)
        self.group_size, self.fn = group_size, fn or minibatch_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, self.group_size)


class ResidualDownBlock(nn.Module):
    """A discriminator block with a second 3x3 conv and a shortcut: ``main = norm(conv3x3(LReLU(norm(conv4x4/2(x)))))``,
    ``skip = conv1x1(avgpool2(x))``, output ``LReLU(main + skip)``: ``(B, in_ch, H, W) -> (B, out_ch, H/2, W/2)``.

    ``norm``: "batch", "spectral" or "none", as in ``DCGANDiscriminator``. Not in the notebooks: the recipe
    ladder's ``residual`` rung.
    """

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch"):
        super().__init__()
        check_positive(in_ch=in_ch, out_ch=out_ch)
        if norm not in D_NORMS:
            raise ValueError(f"norm must be one of {', '.join(D_NORMS)}, got {norm!r}")
        sn = parametrizations.spectral_norm if norm == "spectral" else (lambda m: m)
        bn = (lambda: nn.BatchNorm2d(out_ch)) if norm == "batch" else nn.Identity
        self.main = nn.Sequential(sn(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=norm != "batch")), bn(),
                                  nn.LeakyReLU(0.2, inplace=True), sn(nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=norm != "batch")),
                                  bn())
        self.skip = nn.Sequential(nn.AvgPool2d(2), sn(nn.Conv2d(in_ch, out_ch, 1, bias=False)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.leaky_relu(self.main(x) + self.skip(x), 0.2)


D_NORMS = ("batch", "spectral", "none")
D_BLOCKS = ("dcgan", "residual")


class DCGANDiscriminator(nn.Module):
    """Images ``(B, 3, size, size)`` -> logits ``(B,)``; strided convs, LeakyReLU(0.2).

    For 64 px and width 64: (B, 3, 64, 64) -> (B, 64, 32, 32) -> (B, 128, 16, 16) -> (B, 256, 8, 8)
    -> (B, 512, 4, 4) -> (B,). ``norm`` is what follows every conv but the first and the last:
    "batch" (DCGAN), "spectral" (spectral normalisation of every conv instead; ``spectral_norm=True`` says
    the same) or "none" (for a D regularised by the R1 penalty, as in StyleGAN2: batch norm makes each
    sample's score depend on its batch). ``mbstd_group`` > 0 adds a ``MinibatchStd`` layer before the
    last conv (computed by ``mbstd_fn``, default ``minibatch_std``). ``block``: "dcgan" (one strided conv per
    halving) or "residual" (``ResidualDownBlock`` for every halving after the first).
    Taught in 03_dcgan_faces, section 2.
    """

    def __init__(self, size: int = 64, width: int = 64, spectral_norm: bool = False, norm: str = "batch",
                 mbstd_group: int = 0, mbstd_fn: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
                 block: str = "dcgan"):
        super().__init__()
        check_positive(width=width)
        if norm not in D_NORMS:
            raise ValueError(f"norm must be one of {', '.join(D_NORMS)}, got {norm!r}")
        if block not in D_BLOCKS:
            raise ValueError(f"block must be one of {', '.join(D_BLOCKS)}, got {block!r}")
        if not isinstance(mbstd_group, int) or isinstance(mbstd_group, bool) or mbstd_group < 0:
            raise ValueError(f"mbstd_group must be an int >= 0 (0: no minibatch-std layer), got {mbstd_group!r}")
        norm = "spectral" if spectral_norm else norm
        n = n_blocks(size)
        self.size, self.norm, self.mbstd_group, self.block = size, norm, mbstd_group, block
        sn = parametrizations.spectral_norm if norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(3, width, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]  # (B, w, s/2, s/2)
        ch = width
        for _ in range(n - 1):
            if block == "residual":
                layers.append(ResidualDownBlock(ch, ch * 2, norm))
                ch *= 2
                continue
            layers.append(sn(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm != "batch")))  # resolution / 2, channels x2
            if norm == "batch":
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch *= 2
        if mbstd_group:
            layers.append(MinibatchStd(mbstd_group, mbstd_fn))  # (B, ch, 4, 4) -> (B, ch + 1, 4, 4)
        layers += [sn(nn.Conv2d(ch + bool(mbstd_group), 1, 4, 1, 0)), nn.Flatten(start_dim=0)]  # -> (B, 1, 1, 1) -> (B,)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, self.size, self.size):
            raise ValueError(f"x must have shape (B, 3, {self.size}, {self.size}), got {tuple(x.shape)}")
        return self.net(x)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight init: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.

    Use ``G.apply(dcgan_init)``. Linear layers keep their own init (FiLM's start as the identity).
    Taught in 03_dcgan_faces, section 2 (exercise 3.2).
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        # under spectral norm the stored weight is parametrizations.weight.original
        weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
