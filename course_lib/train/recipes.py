"""Named training recipes for the unconditional DCGAN: architecture options and ``TrainConfig`` fields together.

``DCGAN`` is the recipe as Radford et al. (2016) published it. ``FAST`` is the top of the course's recipe
ladder (``benchmarks/gan_ladder.py``, taught in 03_dcgan_faces, section 4), measured at a fixed budget of real
images on several seeds and held-out data. It adds to DCGAN:

- minibatch standard deviation before D's last conv (ProGAN, Karras et al. 2018): D sees how varied a
  batch is, so a G that draws the same faces again and again is caught;
- the R1 penalty on real data, gamma 0.2, lazily every 4th D step (Mescheder et al. 2018; StyleGAN2,
  Karras et al. 2020): D's slope at the data is kept small, so G converges instead of circling;
- Adam betas (0, 0.99) (StyleGAN2): no momentum to carry either network past a moving target;
- learning rates 5e-4 instead of 2e-4: with the two above, the larger step is stable and buys recall.

Measured and *not* kept (the ladder's alternatives, with their figures in data/ladder/): D without batch norm
(StyleGAN2's D; at this budget it collapsed or lost recall), spectral norm + hinge, pixel norm in G, nearest-
neighbour upsampling in G, StyleGAN2's skip generator (``DCGANGenerator(output="skip")``), two time-scales, a
shorter EMA, float32 instead of bf16 (no change in quality), two G updates per D update (``TrainConfig.g_steps``;
on one seed: precision 0.51 vs 0.48, recall 0.54 vs 0.60).
Progressive growing from 8 px (ProGAN; ``models.GrowingGenerator``) lost precision and recall on every seed
and saved no time at 32 px (the ladder's ``progressive``, three seeds: 0.50 / 0.56 against 0.54 / 0.63 for
``batch16-52k`` run beside it). Residual blocks (``DCGANGenerator(block="residual")``, ``models.ResidualUpBlock``)
raised precision on every seed at 32 px (``residual-g``: 0.59 against 0.53-0.54) but lowered recall (0.52 against
0.62-0.63) and took 1.83 min a run against 1.46 for ``batch16-52k`` run beside it; at 64 px, with ``dcgan64``'s recipe and steps (one model seed, 24 min),
precision 0.74-0.75 against 0.69-0.71 but recall 0.79 against 0.82 and skin-tone TV 0.09-0.10 against 0.07-0.08
on nine held-out sets: not kept, as precision stays short of 0.80 and skin tones pay for part of it.

The batch size is a run's setting, not the recipe's: at 32 px, batches of 32 for the same images (twice the
steps; the ladder's ``batch32`` rung, three seeds) raised precision 0.48 -> 0.54 and recall 0.59 -> 0.64; at
64 px they did not pay (``dcgan64`` trained with them: precision 0.68, recall 0.80, as with batches of 64). Batches of 16 paid at
both sizes: at 32 px (``batch16``, three seeds) precision 0.56, recall 0.70; at 64 px (16,000 steps for the same
256k images, two model seeds) precision 0.72 / 0.70, recall 0.82, FID 48 / 36 against the batches of 64's 0.68 /
0.80 / 49, but skin-tone TV 0.10 / 0.09 against 0.07. Most of that came from batch norm's running statistics
(over batches of 16 they weigh mostly 150-300 faces, of the live G, not of its EMA copy): re-estimated for the EMA weights
(``train.standing_statistics``) the same two runs score 0.71 / 0.70, 0.82 / 0.83, FID 36 / 35 and TV 0.08 /
0.07. ``dcgan64`` ships that way (``tools/train_checkpoints.py``). Batches of 8 (32,000 steps, one seed, standing
statistics) did not pay at 64 px: 0.71 / 0.82, FID 34, in 28 minutes of training against 19. At equal CPU minutes
batches of 16 still pay at 32 px: 5/8 of the images in batches of 16 (the ladder's ``batch16-52k``, three seeds, the
run notebook 03 section 5 trains) score precision 0.53 against 0.48 for 83k in batches of 64, recall 0.62 against
0.56-0.59.

A recipe's ``d`` may also hold ``"projected": S``: D gains projected heads on the frozen region parser of the
shipped ``layered64`` (``models.ProjectedDiscriminator``; Projected GAN, Sauer et al. 2021), which sees the faces
resized to S px (None: as they come). A D that starts from a network that already knows faces raised precision
0.48 -> 0.54 and recall 0.59 -> 0.67 at 32 px (the ladder's ``projected32``, three seeds); not in ``FAST``,
because batches of 16 buy more, in fewer minutes on the same CPU (2.5 against 2.6 a run), and at 64 px it
did not pay (``dcgan64``'s run in batches of 64 with the parser at 64 px: precision 0.66, recall 0.77, against
0.68 / 0.80 without it).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from course_lib import config, models
from course_lib.train.loop import TrainConfig

LADDER_DIR: Path = config.DATA_DIR / "ladder"  # the ladder's shipped results: <size>px.json, samples/<size>px-<rung>.png


@dataclass(frozen=True)
class Recipe:
    """A DCGAN recipe: generator and discriminator options, and the ``TrainConfig`` fields that go with them.

    Not in the notebooks: the training loops' machinery.
    """

    name: str
    g: dict = field(default_factory=dict)  # DCGANGenerator keyword arguments (besides size and width)
    d: dict = field(default_factory=dict)  # DCGANDiscriminator keyword arguments (besides size and width); and
    # "projected": S adds projected heads on the shipped parser, which sees the faces at S px (None: as they come)
    cfg: dict = field(default_factory=dict)  # TrainConfig fields

    def models(self, size: int = 64, width: int = 32, z_dim: int = 100,
               mbstd_fn: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
               block_fn: Callable[[int, int], nn.Module] | None = None) -> tuple[nn.Module, nn.Module]:
        """Build G and D with DCGAN's init (seed first, with ``device.set_seed``). ``mbstd_fn``: your minibatch std;
        ``block_fn``: your generator block."""
        G = models.DCGANGenerator(z_dim=z_dim, size=size, width=width, **self.g, **({"block_fn": block_fn} if block_fn else {}))
        d = {k: v for k, v in self.d.items() if k != "projected"}
        d = dict(d, mbstd_fn=mbstd_fn) if mbstd_fn is not None and d.get("mbstd_group") else d
        D = models.DCGANDiscriminator(size=size, width=width, **d)
        G.apply(models.dcgan_init), D.apply(models.dcgan_init)
        if "projected" in self.d:  # the side the frozen parser sees: its own 64, or the images' size as they come
            D = models.projected_parser_d(D, shipped_parser(), size, feature_size=self.d["projected"])
        return G, D

    def config(self, **changes: Any) -> TrainConfig:
        """A TrainConfig with this recipe's fields, updated with ``changes`` (steps, batch_size, seed, ...)."""
        return TrainConfig(**{**self.cfg, **changes})


def shipped_parser() -> nn.Module:
    """A fresh copy of the region parser of the shipped ``layered64`` (sha256-checked, weights only), for
    ``models.ProjectedDiscriminator``: a network trained on face masks only, never on the domain encoder's labels.

    Not in the notebooks: the recipe ladder's ``projected`` rungs.
    """
    from course_lib import checkpoints

    state, entry = checkpoints.load("layered64", keys=("model",))
    model = models.LayeredTransfer(width=entry.config["width"])
    model.load_state_dict(state["model"])
    return model.parser.eval()


DCGAN = Recipe("dcgan")
FAST = Recipe(
    "fast",
    d={"mbstd_group": 4},
    cfg={"r1_gamma": 0.2, "r1_every": 4, "beta1": 0.0, "beta2": 0.99, "lr_G": 5e-4, "lr_D": 5e-4},
)


# --------------------------------------------------------------------------------------------------
# The ladder's results (written by benchmarks/gan_ladder.py, shipped in data/ladder/)
# --------------------------------------------------------------------------------------------------
def ladder_results(size: int = 32, directory: Path | None = None) -> list[dict]:
    """Return the ladder's runs at ``size`` px: one dict per rung and seed (scores, images seen, minutes).

    Taught in 03_dcgan_faces, section 4.
    """
    path = (directory or LADDER_DIR) / f"{size}px.json"
    if not path.exists():
        raise FileNotFoundError(f"no ladder results at {path}: run benchmarks/gan_ladder.py --size {size} to make them")
    return json.loads(path.read_text())


def _mean_se(values: list[float]) -> str:
    m = sum(values) / len(values)
    if len(values) < 2:
        return f"{m:.2f}"
    se = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1) / len(values))
    return f"{m:.2f} ± {se:.2f}"


def _cpu_tag(row: dict) -> str:
    """Where a ladder row was timed, in short: "Xeon, bf16", "EPYC, fp32", ... (bf16 only where the run used it)."""
    words = row["machine"].replace("(R)", "").replace("(TM)", "").split()
    name = next((w for w in words if w in ("Xeon", "EPYC", "Ryzen", "Core", "Apple")), words[0] if words else "?")
    bf16 = "bf16 autocast: True" in row["machine"] and row.get("cfg", {}).get("amp", True)
    return f"{name}, {'bf16' if bf16 else 'fp32'}"


def ladder_table(rows: list[dict], order: list[str] | None = None, adds: dict[str, str] | None = None) -> str:
    """A markdown table: per rung, the mean ± standard error over seeds of precision, recall and the tone TV.

    ``order``: the rungs to show, in order (default: as they first appear); ``adds``: what each rung adds.
    The last row is the real-vs-real floor over every run's held-out samples.
    Taught in 03_dcgan_faces, section 4.
    """
    order = order or list(dict.fromkeys(r["rung"] for r in rows))
    out = ["| rung | adds | seeds | real images | minutes (2 cores) | precision | recall | tone TV |",
           "|---|---|---|---|---|---|---|---|"]
    for name in order:
        rs = [r for r in rows if r["rung"] == name]
        if rs:
            cpus = sorted({_cpu_tag(r) for r in rs if "machine" in r})
            where = f" ({'; '.join(cpus)})" if cpus else ""  # minutes depend on the CPU: say which timed them
            out.append(f"| {name} | {(adds or {}).get(name, '')} | {len(rs)} | {rs[0]['images'] / 1000:.0f}k | "
                       f"{_mean_se([r['wall_min'] for r in rs])}{where} | {_mean_se([r['precision'] for r in rs])} | "
                       f"{_mean_se([r['recall'] for r in rs])} | {_mean_se([r['tone_tv'] for r in rs])} |")
    floor = [r for r in rows if "floor_precision" in r]
    if floor:
        out.append(f"| real vs real (floor) | a second held-out real sample | {len(floor)} | | | "
                   f"{_mean_se([r['floor_precision'] for r in floor])} | {_mean_se([r['floor_recall'] for r in floor])} | "
                   f"{_mean_se([r['floor_tone_tv'] for r in floor])} |")
    return "\n".join(out)
