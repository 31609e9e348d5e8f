#!/usr/bin/env python
"""The recipe ladder: what each training technique buys a DCGAN, at a fixed budget of real images seen.

Each rung adds one technique to the rung above it (or swaps one, for the alternatives), trains a DCGAN on
SynthFaces from scratch for the same number of real images (a rung with a ``share`` below 1 sees that share of
them, to be compared at about equal CPU minutes instead), and measures its EMA generator in the domain
encoder's space against faces of a *held-out* data seed (never trained on, never tuned on): precision,
recall (k = 3) and the skin-tone TV, next to the real-vs-real floor at the same sample size. Every rung runs
on several seeds (model init, noise and data order all change), so a gain can be told from noise: the
table gives the mean and its standard error over seeds, and the CPU minutes each run took.

Results are appended to a JSON file as each run finishes (``build/ladder/<size>px.json``); a rerun skips the
runs already there, so a long ladder can stop and continue. ``--table`` only prints what is there.

Usage:
    .venv/bin/python benchmarks/gan_ladder.py --size 32 --kimg 83 --seeds 0 1 2          # ~1 min a run
    .venv/bin/python benchmarks/gan_ladder.py --size 64 --kimg 256 --seeds 0 1 --rungs dcgan fast
    .venv/bin/python benchmarks/gan_ladder.py --size 32 --table
Taught in 03_dcgan_faces, section 4 (the ladder table).
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from course_lib import config, data, device as dev, encoder, losses, metrics, models, train  # noqa: E402


@dataclass(frozen=True)
class Rung:
    """One recipe: model and TrainConfig settings, and what it adds to the rung it builds on."""

    name: str
    adds: str  # what changed, with the paper it comes from
    base: str | None  # the rung whose settings this one starts from
    width: int | None = None  # G and D width, when the rung changes it (else --width)
    g: dict = field(default_factory=dict)  # DCGANGenerator keyword arguments
    d: dict = field(default_factory=dict)  # DCGANDiscriminator keyword arguments
    cfg: dict = field(default_factory=dict)  # TrainConfig fields
    share: float = 1.0  # the share of the ladder's budget (--kimg) of real images this rung sees: below 1 for a rung
    # that spends its own CPU minutes differently (more steps on fewer images) and is compared at equal minutes
    grow: float = 0.0  # > 0: progressive growing from 8 px (models.growing), each phase but the last this share of the steps


RECIPES = train.recipes
RUNGS = [
    # the ladder: each rung adds one technique to the rung above; its top is the shipped recipe
    Rung("dcgan", "DCGAN as published: batch norm in D, non-saturating loss, Adam 2e-4 (0.5, 0.999)", None),
    Rung("+mbstd", "minibatch standard deviation before D's last conv (ProGAN, Karras et al. 2018)", "dcgan",
         d={"mbstd_group": 4}),
    Rung("+r1", "R1 penalty on real data, gamma 0.2, lazily every 4th D step (Mescheder et al. 2018; StyleGAN2)",
         "+mbstd", cfg={"r1_gamma": 0.2, "r1_every": 4}),
    Rung("+betas", "Adam betas (0, 0.99): no momentum (StyleGAN2)", "+r1", cfg={"beta1": 0.0, "beta2": 0.99}),
    Rung(RECIPES.FAST.name, "learning rates 5e-4 for G and D: train.recipes.FAST, the shipped recipe", "+betas",
         cfg={"lr_G": 5e-4, "lr_D": 5e-4}),
    # alternatives, each swapping one thing in a rung above (screened on one seed; a row with 3 seeds was re-run)
    Rung("nobn-r1", "+r1 with D without batch norm (as StyleGAN2's D)", "+r1", d={"norm": "none"}),
    Rung("nobn-r1-betas", "+betas with D without batch norm", "nobn-r1", cfg={"beta1": 0.0, "beta2": 0.99}),
    Rung("nobn-r1-g0.01", "nobn-r1-betas with R1 gamma 0.01", "nobn-r1-betas", cfg={"r1_gamma": 0.01}),
    Rung("nobn-betas", "+mbstd, D without batch norm, Adam (0, 0.99), no R1", "+mbstd", d={"norm": "none"},
         cfg={"beta1": 0.0, "beta2": 0.99}),
    Rung("sn-hinge", "+mbstd with spectral norm in D instead of batch norm, hinge loss (SAGAN, BigGAN)", "+mbstd",
         d={"norm": "spectral"}, cfg={"loss": "hinge"}),
    Rung("pixelnorm", "+betas with pixel norm in G instead of batch norm (ProGAN)", "+betas", g={"norm": "pixel"}),
    Rung("ema0.99", "+betas with EMA decay 0.99 (not 0.999)", "+betas", cfg={"ema": 0.99}),
    Rung("ttur", "+betas with two time-scales, lr_D 6e-4 and lr_G 2e-4 (Heusel et al. 2017)", "+betas",
         cfg={"lr_D": 6e-4}),
    Rung("nearest", "fast with nearest upsampling + 3x3 convs in G (Odena et al. 2016)", "fast",
         g={"upsample": "nearest"}),
    Rung("fp32", "fast in float32, without bf16 autocast", "fast", cfg={"amp": False}),
    Rung("batch32", "fast with batches of 32 (twice the steps for the same images)", "fast", cfg={"batch_size": 32}),
    Rung("skip", "fast with StyleGAN2's skip generator: a toRGB at every resolution, summed coarse to fine "
                 "(Karras et al. 2020)", "fast", g={"output": "skip"}),
    Rung("width64", "fast with width 64 for G and D (about 3x the compute per image)", "fast", width=64),
    Rung("g2", "fast with two G updates per D update, each on fresh noise (no more real images)", "fast",
         cfg={"g_steps": 2}),
    Rung("batch16", "fast with batches of 16 (four times the steps for the same images)", "fast", cfg={"batch_size": 16}),
    Rung("batch16-52k", "batch16 on 5/8 of fast's images (52k, 3,250 steps): about fast's CPU minutes (on one CPU, "
                        "a tenth more)", "batch16", share=0.625),
    Rung("lr1e-3", "fast with learning rates 1e-3 for G and D (twice fast's)", "fast", cfg={"lr_G": 1e-3, "lr_D": 1e-3}),
    Rung("r1-0.05", "fast with R1 gamma 0.05 (a quarter of fast's)", "fast", cfg={"r1_gamma": 0.05}),
    Rung("projected", "fast with projected heads in D on the frozen region parser of layered64, the faces resized "
                      "to its 64 px (Projected GAN, Sauer et al. 2021)", "fast", d={"projected": 64}),
    Rung("projected32", "projected, the parser reading the 32 px faces as they are (a quarter of the pixels)", "fast",
         d={"projected": None}),
    Rung("progressive", "batch16-52k grown from 8 px (ProGAN, Karras et al. 2018): skip G, fromRGB in D, each "
                        "resolution faded in; 8 px, fade 16, 16, fade 32 an eighth of the steps each", "batch16-52k",
         g={"output": "skip"}, share=0.625, grow=0.125),
    Rung("residual", "batch16-52k with residual blocks in G and D: a second 3x3 conv and a shortcut in each "
                     "(Miyato et al. 2018; BigGAN, Brock et al. 2019)", "batch16-52k",
         g={"block": "residual"}, d={"block": "residual"}, share=0.625),
    Rung("residual-g", "batch16-52k with residual blocks in G only (ResidualUpBlock)", "batch16-52k", g={"block": "residual"}, share=0.625),
    Rung("residual-d", "batch16-52k with residual blocks in D only (ResidualDownBlock)", "batch16-52k", d={"block": "residual"}, share=0.625),
]
BY_NAME = {r.name: r for r in RUNGS}
LADDER = ["dcgan", "+mbstd", "+r1", "+betas", RECIPES.FAST.name]  # the rungs of the ladder proper, bottom to top


def settings(name: str) -> tuple[dict, dict, dict]:
    """The G kwargs, D kwargs and TrainConfig fields of rung ``name``: its base's, updated with its own."""
    rung = BY_NAME[name]
    g, d, cfg = settings(rung.base) if rung.base else ({}, {}, {})
    return {**g, **rung.g}, {**d, **rung.d}, {**cfg, **rung.cfg}


def _check_top_rung() -> None:
    """The ladder's top rung must be the library's shipped recipe, setting for setting."""
    fast = RECIPES.FAST
    if settings(fast.name) != (fast.g, fast.d, fast.cfg):
        raise RuntimeError(f"rung {fast.name!r} {settings(fast.name)} differs from train.recipes.FAST "
                           f"{(fast.g, fast.d, fast.cfg)}: update one of them")


def run_one(name: str, size: int, width: int, kimg: float, seed: int, n_eval: int, enc, batch_size: int = 64,
            samples_dir: Path | None = None, curve: int = 0) -> dict:
    """Train rung ``name`` with ``seed`` for ``kimg`` thousand real images times the rung's share; return its scores
    and costs (the row keeps ``kimg``, the ladder's budget, and records the images and steps it took).

    ``curve`` > 0 also measures precision/recall at ``curve`` evenly spaced points of the run (its time is not
    counted in the run's minutes)."""
    g_kwargs, d_kwargs, cfg_fields = settings(name)
    width = BY_NAME[name].width or width
    batch_size = cfg_fields.get("batch_size", batch_size)  # a rung may change the batch: its budget stays in images
    steps = math.ceil(kimg * BY_NAME[name].share * 1000 / batch_size)  # the row keeps the ladder's kimg, and its images
    cfg = train.TrainConfig(**{"log_every": 50, **cfg_fields, "steps": steps, "batch_size": batch_size, "seed": seed,
                               "checkpoint_every": 0})
    dev.set_seed(1000 + seed)
    G, D = RECIPES.Recipe(name, g_kwargs, d_kwargs, cfg_fields).models(size=size, width=width)
    batches = data.face_batches(batch_size, size=size, seed=100 + seed, makeup=0.5)
    r1_fn = None
    if BY_NAME[name].grow:  # progressive growing: the schedule sets both networks' stage as each step's batch is drawn
        G, D = models.GrowingGenerator(G), models.GrowingDiscriminator(D)
        D.from_rgb.apply(models.dcgan_init)
        batches = models.GrowthSchedule(steps, size, phase=BY_NAME[name].grow).feed(batches, G, D)
        r1_fn = lambda D_, x, gamma, D=D: losses.r1_penalty(D_, D.to_stage(x.detach()), gamma)  # noqa: E731 (at its resolution)
    points: list[dict] = []
    eval_s = [0.0, 0.0]  # process and wall seconds spent measuring the curve

    def measure(run) -> None:
        if run.step < steps:
            e0 = time.process_time(), time.perf_counter()
            scores = evaluate(run.G_ema, size, seed, n_eval, enc)
            points.append({"images": run.step * batch_size, "precision": scores["precision"], "recall": scores["recall"]})
            eval_s[0] += time.process_time() - e0[0]
            eval_s[1] += time.perf_counter() - e0[1]

    t0 = time.process_time(), time.perf_counter()
    run = train.fit(G, D, batches, cfg, progress=False, callbacks=[measure] if curve else (),
                    callback_every=max(1, steps // (curve + 1)), r1_penalty=r1_fn)
    cpu_min = (time.process_time() - t0[0] - eval_s[0]) / 60
    wall_min = (time.perf_counter() - t0[1] - eval_s[1]) / 60
    scores = evaluate(run.G_ema, size, seed, n_eval, enc)
    if samples_dir is not None:  # a sample grid per rung (its first seed), for notebook 03's side-by-side view
        from course_lib import viz

        fake = train.generate(run.G_ema, 16, generator=torch.Generator().manual_seed(7000))
        samples_dir.mkdir(parents=True, exist_ok=True)
        (samples_dir / f"{size}px-{name}.png").write_bytes(viz.to_png_bytes(viz.make_grid(fake, nrow=8)))
    return {"rung": name, "size": size, "width": width, "kimg": kimg, "seed": seed, "steps": steps,
            "images": steps * batch_size, **({"share": BY_NAME[name].share} if BY_NAME[name].share != 1 else {}),
            **({"grow": BY_NAME[name].grow} if BY_NAME[name].grow else {}),
            "cpu_min": round(cpu_min, 2), "wall_min": round(wall_min, 2), **scores,
            "g": g_kwargs, "d": d_kwargs, "cfg": cfg_fields, **({"curve": points} if points else {})}


def evaluate(G, size: int, seed: int, n: int, enc) -> dict:
    """Precision/recall/tone TV of ``G`` against held-out real faces, with the real-vs-real floor."""
    real = data.face_batches(n, size=size, seed=9000 + seed, makeup=0.5)(0)  # data seeds no run trains on
    other = data.face_batches(n, size=size, seed=9500 + seed, makeup=0.5)(0)
    fake = train.generate(G, n, generator=torch.Generator().manual_seed(7000 + seed))
    read_real = encoder.read_out(enc, real)  # read once, scored against both
    report = metrics.face_report(enc, read_real, fake)
    floor = metrics.face_report(enc, read_real, other)
    keep = ("precision", "recall", "tone_tv", "fid")
    return {**{k: report[k] for k in keep}, **{f"floor_{k}": floor[k] for k in keep}}


def _cpu_name() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = [f for f in ("avx512_bf16", "amx_bf16") if f" {f}" in info]
    return f"{name} ({', '.join(flags) or 'no native bf16'})"


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, choices=(32, 64))
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--kimg", type=float, default=83.2,
                        help="thousands of real images each run sees (times its rung's share)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rungs", nargs="+", default=[r.name for r in RUNGS], choices=[r.name for r in RUNGS])
    parser.add_argument("--n-eval", type=int, default=1000)
    parser.add_argument("--curve", type=int, default=0, help="also measure at this many points along each run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="results file (default build/ladder/<size>px.json)")
    parser.add_argument("--table", action="store_true", help="only print the table of what the results file holds")
    args = parser.parse_args(argv)
    _check_top_rung()
    torch.set_num_threads(args.threads)
    out = args.out or config.build_dir("ladder") / f"{args.size}px.json"
    rows = load(out)
    machine = (f"{_cpu_name()}, {args.threads} threads, torch {torch.__version__}, "
               f"bf16 autocast: {dev.amp_dtype(dev.get_device()) is not None}")
    print(f"# {' '.join(sys.argv)}\n# {machine}")
    if not args.table:
        meta_path = out.with_suffix(".meta.json")
        commands = json.loads(meta_path.read_text()).get("commands", []) if meta_path.exists() else []
        command = "python benchmarks/gan_ladder.py " + " ".join(sys.argv[1:])
        meta = {"command": command, "commands": list(dict.fromkeys(commands + [command])), "machine": machine,
                "kimg": args.kimg, "ladder": LADDER,
                "rungs": [{"rung": r.name, "adds": r.adds, "base": r.base, "share": r.share} for r in RUNGS]}
        out.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(meta, indent=1))
        enc = encoder.load_shipped().model
        for name in args.rungs:
            width = BY_NAME[name].width or args.width
            for seed in args.seeds:
                key = (name, args.size, width, args.kimg, BY_NAME[name].share, seed,
                       json.dumps(settings(name), sort_keys=True))
                if any((r["rung"], r["size"], r["width"], r["kimg"], r.get("share", 1.0), r["seed"],
                        json.dumps((r.get("g", {}), r["d"], r["cfg"]), sort_keys=True)) == key
                       for r in rows):
                    continue
                row = run_one(name, args.size, args.width, args.kimg, seed, args.n_eval, enc,
                              samples_dir=out.parent / "samples" if seed == args.seeds[0] else None, curve=args.curve)
                row["machine"] = machine  # rows of one table may come from different machines: minutes differ
                for p in row.get("curve", []):
                    print(f"{name:>10} seed {seed} at {p['images'] / 1000:.0f}k images: precision {p['precision']:.3f} "
                          f"recall {p['recall']:.3f}")
                print(f"{name:>10} seed {seed}: precision {row['precision']:.3f} recall {row['recall']:.3f} "
                      f"tone TV {row['tone_tv']:.3f} ({row['cpu_min']:.1f} CPU min, {row['wall_min']:.1f} min)", flush=True)
                rows = [r for r in load(out) if not (r["rung"] == name and r["seed"] == seed and r["kimg"] == args.kimg
                                                     and r["width"] == width and r["size"] == args.size)] + [row]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(rows, indent=1))
    sel = [r for r in rows if r["size"] == args.size and r["kimg"] == args.kimg and r["rung"] in BY_NAME
           and r["width"] == (BY_NAME[r["rung"]].width or args.width)]
    print(train.recipes.ladder_table(sel, [r.name for r in RUNGS], {r.name: r.adds for r in RUNGS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
