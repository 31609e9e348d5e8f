#!/usr/bin/env python
"""Fixes at sampling time, no retraining: do they buy the shipped ``dcgan64`` precision?

Three tricks from the literature change only how samples are drawn from a trained G:
- the **truncation trick** (Brock et al. 2019, BigGAN; Kynkäänniemi et al. 2019 show it trades recall for
  precision): noise nearer the centre of N(0, I), either scaled (``scale psi``: z * psi) or with every component
  outside [-t, t] drawn again (``resample t``, BigGAN's truncated normal);
- **standing statistics** (BigGAN): G's batch-norm statistics recomputed for the EMA weights it samples with (the
  running statistics the EMA copies are the live G's, whose weights differ, and with batches of 16 they average
  mostly 150-300 faces). The shipped G already carries them (``tools/train_checkpoints.py`` applies
  ``train.standing_statistics``, 32 batches of 64); the row "training's statistics" puts back the ones training
  left (the checkpoint keeps them), and "standing statistics again" re-estimates them from ``--standing`` other
  batches of 64 (noise seed 6), to show the estimate itself is not noisy.
- **Jacobian-based truncation** (Tanielian et al. 2020, "Learning disconnected manifolds: a no GAN's land";
  ``train.jacobian_truncation``): a G fed by one connected Gaussian must also draw faces *between* the data's
  separate modes, where it stretches the noise fast; draw ``n / keep`` noise vectors and keep the ``n`` whose images
  change least along random directions (``||G(z + eps v) - G(z)|| / eps``, two unit directions ``v``, ``eps`` 0.01:
  a finite-difference estimate of the Jacobian's norm). Alone it keeps some skin tones more than others, so the rows
  "per brightness bin" rank the draws within 8 bins of the mean brightness of the image's centre (a pixel statistic,
  not the encoder that measures) and keep the same share of each bin.
Each row is G's EMA weights from the checkpoint, scored as ``tools/train_checkpoints.py`` scores it (k = 3, n real
and n generated faces, the domain encoder's space), on data and noise seeds that neither training nor the manifest
uses (real 9300.., second real sample 9400.., noise 7300.., the Jacobian rows' draws 7350..; ``--offset K`` adds K to
each, e.g. 300 for another held-out set): the mean over ``--repeats``, with the real-vs-real floor.

Usage:
    .venv/bin/python benchmarks/sampling_fixes.py                  # about 4 minutes on 2 cores (AMD EPYC)
    .venv/bin/python benchmarks/sampling_fixes.py --repeats 1 --n 500
    .venv/bin/python benchmarks/sampling_fixes.py --offset 300         # data seeds 9600.., 9700.., noise 7600.., 7650..
"""
from __future__ import annotations

import copy
import sys

import torch

from common import setup  # noqa: E402  (puts the repository on the path)
from course_lib import checkpoints, data, encoder, metrics, models, train  # noqa: E402

KEEP = ("precision", "recall", "fid", "tone_tv")


def truncated(n: int, z_dim: int, t: float, generator: torch.Generator) -> torch.Tensor:
    """N(0, I) noise with every component outside [-t, t] drawn again (BigGAN's truncated normal)."""
    z = torch.randn(n, z_dim, generator=generator)
    while (bad := z.abs() > t).any():
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z


def main(argv: list[str] | None = None) -> int:
    args = setup(__doc__, argv, n=1000, repeats=3, standing=32, offset=0)  # faces per repeat, pairs of held-out data
    # seeds, batches of 64 for the standing statistics, and a shift of every data and noise seed (another held-out set)
    state, entry = checkpoints.load("dcgan64")
    G = models.DCGANGenerator.from_config(entry.config)
    G.load_state_dict(state["G_ema"])
    G.eval()
    z_dim = entry.config["z_dim"]
    as_trained = copy.deepcopy(G)
    as_trained.load_state_dict({**state["G_ema"], **state["G_ema_training_stats"]})  # the same weights, training's statistics
    again = train.standing_statistics(G, batches=args.standing, batch_size=64, seed=6)
    enc = encoder.load_shipped().model
    rows: dict[str, list[dict]] = {}
    for i in range(args.repeats):
        read_real = encoder.read_out(enc, data.face_batches(args.n, size=64, seed=9300 + args.offset + i, makeup=0.5)(0))
        other = data.face_batches(args.n, size=64, seed=9400 + args.offset + i, makeup=0.5)(0)
        z = torch.randn(args.n, z_dim, generator=torch.Generator().manual_seed(7300 + args.offset + i))
        draws = {"as shipped (standing statistics)": (G, z), "training's statistics": (as_trained, z),
                 f"standing statistics again ({args.standing} x 64)": (again, z)}  # name -> (G, noise)
        draws.update({f"scale psi {psi}": (G, z * psi) for psi in (0.8, 0.6, 0.5)})
        draws.update({f"resample t {t}": (G, truncated(args.n, z_dim, t, torch.Generator().manual_seed(7300 + args.offset + i)))
                      for t in (2.0, 1.5, 1.0)})
        for keep in (0.8, 0.6):  # the same draws and directions for both rankings (one generator seed)
            for bins, suffix in ((0, ""), (8, ", per brightness bin (8)")):
                z_kept = train.jacobian_truncation(G, args.n, keep, bins, generator=torch.Generator().manual_seed(7350 + args.offset + i))
                draws[f"jacobian keep {keep}{suffix}"] = (G, z_kept)
        for name, (net, noise) in draws.items():
            rows.setdefault(name, []).append(metrics.face_report(enc, read_real, train.generate(net, z=noise)))
        rows.setdefault("real vs real (floor)", []).append(metrics.face_report(enc, read_real, other))
        print(f"repeat {i + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    print(f"dcgan64 ({entry.config['steps']} steps), {args.repeats} x {args.n} faces, mean ± sd over repeats")
    print(f"{'sampling':<44}" + "".join(f"{k:>16}" for k in KEEP))
    for name, reports in rows.items():
        cells = []
        for k in KEEP:
            v = torch.tensor([r[k] for r in reports], dtype=torch.float64)
            cells.append(f"{v.mean():8.3f} ± {v.std() if len(v) > 1 else 0:5.3f}")
        print(f"{name:<44}" + "".join(f"{c:>16}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
