#!/usr/bin/env python
"""Rebuild the shipped checkpoints in data/checkpoints/ (each with its sha256, config, command and metrics).

Usage:
    .venv/bin/python tools/train_checkpoints.py                 # every checkpoint, full settings
    .venv/bin/python tools/train_checkpoints.py encoder         # just one
    .venv/bin/python tools/train_checkpoints.py encoder --fast  # tiny settings, into build/checkpoints (a smoke test)
    .venv/bin/python tools/train_checkpoints.py cgan64 --restat # only what follows training, on the shipped weights

Training is seeded and uses ``device.get_device()`` (a GPU when there is one; GPU kernels are not
bit-for-bit reproducible, so numbers may then differ slightly). Under ``torchrun --nproc_per_node=N`` the
GAN targets train on N processes (each with ``batch_size`` real images per step); rank 0 evaluates and saves.
"""
from __future__ import annotations

import argparse
import copy
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from course_lib import checkpoints, config, data, device as dev, encoder, makeup, metrics, models, train  # noqa: E402


def log(msg: str) -> None:
    if train.distributed.rank_and_world()[0] == 0:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def shard() -> dict:
    """This process's ``rank`` and ``world`` for ``data.face_batches``: each torchrun process draws its own faces."""
    rank, world = train.distributed.rank_and_world()
    return {"rank": rank, "world": world}


def is_main() -> bool:
    """Only rank 0 evaluates and writes checkpoints (every rank holds the same weights)."""
    return train.distributed.rank_and_world()[0] == 0


DEVICE = torch.device("cpu")  # set in main()


def build_encoder(fast: bool, directory: Path, command: str) -> None:
    """Stage 1 (everything but the shade head; ~40 CPU minutes) checkpoints into build/runs/encoder/stage1/ and
    resumes from there (a finished stage 1 with the same config is reused); stage 2 (the lipstick-shade head, a
    few minutes) always runs, on whatever stage 1 gave."""
    if not is_main():  # the encoder trains on one process; the others wait at the next target
        return
    cfg = encoder.EncoderConfig.fast() if fast else encoder.EncoderConfig()
    shade_cfg = encoder.ShadeConfig.fast() if fast else encoder.ShadeConfig()
    t0 = time.time()
    runs = config.build_dir("runs", "encoder" + ("-fast" if fast else ""))

    def mean_loss(run, n: int) -> float:
        recent = run.history["loss"][-n:]
        return sum(recent) / len(recent)

    model, _ = encoder.train_encoder(cfg, run_dir=runs / "stage1", callback=lambda run: log(
        f"encoder step {run.step}/{cfg.steps} loss {mean_loss(run, 100):.4f} ({run.seconds:.0f} s)"))
    encoder.train_shade_head(model, shade_cfg, callback=lambda run: log(
        f"shade head step {run.step}/{shade_cfg.steps} loss {mean_loss(run, 500):.5f}"))
    metrics = encoder.evaluate(model, n=200 if fast else 1000)
    metrics["train_minutes_this_call"] = round((time.time() - t0) / 60, 1)
    entry = checkpoints.save("encoder", {"encoder": model.state_dict()},
                             config={**encoder.config_dict(cfg), "shade_head": encoder.config_dict(shade_cfg)},
                             command=command, metrics=metrics, directory=directory)
    log(f"encoder: {metrics} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


def as_saved(G: torch.nn.Module) -> torch.nn.Module:
    """A copy of G holding the weights its checkpoint will hold (fp16, cast back to fp32).

    The standing statistics are estimated on these, so they are what the file's weights compute, and ``--restat``
    on a shipped file recomputes exactly what a rebuild would."""
    G = copy.deepcopy(train.distributed.unwrap(G)).to(memory_format=torch.contiguous_format)  # as a loaded file's
    G.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in G.state_dict().items()})
    return G


def batchnorm_buffers(G: torch.nn.Module) -> dict:
    """G's batch-norm running statistics (a few kB): the checkpoint keeps training's beside the re-estimated ones,
    so that the change can be measured (benchmarks/sampling_fixes.py, notebook 03)."""
    return {k: v for k, v in G.state_dict().items() if k.rsplit(".", 1)[-1].startswith(("running_", "num_batches"))}


def run_minutes(cfg, history: dict, t0: float, kept: float | None) -> dict:
    """The manifest's minutes: this call's, timed from ``t0`` (for ``--restat``, the training call's, kept, with the
    restat's own beside them), and the whole run's training time, from its history (each logged row timed
    ``log_every`` steps)."""
    minutes = round((time.time() - t0) / 60, 1)
    call = {"train_minutes_this_call": minutes} if kept is None else {"train_minutes_this_call": kept, "restat_minutes": minutes}
    return {**call, "train_minutes": round(sum(cfg.log_every * cfg.batch_size / r for r in history["img_per_s"]) / 60, 1)}


DCGAN64 = {"z_dim": 100, "size": 64, "width": 32}  # G and D width (pytorch/examples' ngf = ndf)
DCGAN64_RECIPE = train.recipes.FAST  # the top of the recipe ladder (benchmarks/gan_ladder.py), in batches of 16
# (256k real images in 16,000 steps: the ladder's `batch16` rung) and with its batch-norm statistics re-estimated for
# the EMA weights afterwards (train.standing_statistics: with batches of 16 the running statistics weigh mostly 150-300 faces)
DCGAN64_STANDING = {"batches": 32, "batch_size": 64, "seed": 5}


def evaluate_generator(G, directory: Path, n: int, size: int, repeats: int = 3) -> dict:
    """Precision/recall/FID/tone TV of G's samples against real faces of held-out data seeds, with the floor.

    The course's protocol (k = 3, ``n`` real and ``n`` generated faces) on ``repeats`` pairs of data seeds
    that no run trains or tunes on (9100.., and 9200.. for the floor's second real sample; noise 7100..):
    each metric is the mean over repeats, with its standard deviation as ``<metric>_sd``."""
    enc = encoder.load_shipped(directory=directory).model
    reports, floors = [], []
    for i in range(repeats):
        real = data.face_batches(n, size=size, seed=9100 + i, makeup=0.5)(0)
        other = data.face_batches(n, size=size, seed=9200 + i, makeup=0.5)(0)
        fake = train.generate(G, n, generator=torch.Generator().manual_seed(7100 + i))
        read_real = encoder.read_out(enc, real)  # read once, scored against both
        reports.append(metrics.face_report(enc, read_real, fake))
        floors.append(metrics.face_report(enc, read_real, other))
    out: dict = {"n_samples": n, "repeats": repeats}
    for prefix, rows in (("", reports), ("floor_", floors)):
        for key in rows[0]:
            values = torch.tensor([r[key] for r in rows], dtype=torch.float64)
            out[prefix + key] = round(float(values.mean()), 4)
            if not prefix and repeats > 1:
                out[key + "_sd"] = round(float(values.std()), 4)
    return out


def dcgan64_models_and_config(fast: bool = False, **changes):
    """The shipped DCGAN's G, D (seeded, initialised) and TrainConfig; ``changes`` override config fields."""
    base = (train.TrainConfig.fast(steps=8, batch_size=16) if fast else
            train.TrainConfig(steps=16000, batch_size=16, log_every=100, checkpoint_every=1000, seed=0))
    cfg = train.TrainConfig(**{**base.as_dict(), **DCGAN64_RECIPE.cfg, **changes})
    dev.set_seed(cfg.seed)
    G, D = DCGAN64_RECIPE.models(size=DCGAN64["size"], width=DCGAN64["width"], z_dim=DCGAN64["z_dim"])
    return G, D, cfg


def build_dcgan64(fast: bool, directory: Path, command: str) -> None:
    G, D, cfg = dcgan64_models_and_config(fast)
    t0 = time.time()

    def report(run):
        h = run.history
        log(f"dcgan64 step {run.step}/{cfg.steps} d_loss {h['d_loss'][-1]:.3f} g_loss {h['g_loss'][-1]:.3f} "
            f"D(x) {h['d_real'][-1]:.2f} D(G(z)) {h['d_fake'][-1]:.2f} r1 {h['r1'][-1]:.3f} {h['img_per_s'][-1]:.0f} img/s")

    run_dir = config.build_dir("runs", f"dcgan64-{DCGAN64_RECIPE.name}-b{cfg.batch_size}" + ("-fast" if fast else ""))
    run = train.fit(G, D, data.face_batches(cfg.batch_size, size=DCGAN64["size"], seed=cfg.seed, makeup=0.5, **shard()), cfg,
                    device=DEVICE, run_dir=run_dir, callbacks=[report], callback_every=1000, progress=False)
    if is_main():
        finish_dcgan64(run.G_ema, run.history, cfg, fast, directory, command, t0)


def dcgan64_arch() -> dict:
    """What the manifest records of dcgan64 besides its TrainConfig: architecture, recipe, standing statistics."""
    return {**DCGAN64, **DCGAN64_RECIPE.g, "recipe": DCGAN64_RECIPE.name, "D": DCGAN64_RECIPE.d,
            "standing_statistics": DCGAN64_STANDING}


def finish_dcgan64(G_trained, history: dict, cfg, fast: bool, directory: Path, command: str, t0: float,
                   minutes_this_call: float | None = None) -> None:
    """After training: standing statistics for the EMA weights, the manifest's scores, the checkpoint.
    ``minutes_this_call``: the training call's minutes, kept by ``--restat`` (else timed from ``t0``)."""
    G_ema = train.standing_statistics(as_saved(G_trained), **DCGAN64_STANDING)
    scores = evaluate_generator(G_ema, directory, n=200 if fast else 1000, size=DCGAN64["size"], repeats=1 if fast else 3)
    scores.update(run_minutes(cfg, history, t0, minutes_this_call))
    scores["real_images_seen"] = cfg.steps * cfg.batch_size
    arch = dcgan64_arch()
    entry = checkpoints.save("dcgan64", {"G_ema": G_ema.state_dict(), "G_ema_training_stats": batchnorm_buffers(G_trained),
                                         "history": history},
                             config={**cfg.as_dict(), **arch}, command=command, metrics=scores, directory=directory)
    log(f"dcgan64: {scores} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


CGAN64 = {"z_dim": 100, "cond_dim": len(makeup.VECTOR_FIELDS), "size": 64, "width": 32, "cond_from": 2}  # style steers the 16 px blocks on
CGAN64_RECIPE = train.recipes.FAST
CGAN64_STANDING = {"batches": 32, "batch_size": 64, "seed": 5}  # as dcgan64's
CGAN64_STYLES_SEED = 4000  # the data seed of the real styles its standing statistics are conditioned on (no run trains on it)


def cgan64_models_and_config(fast: bool = False, **changes):
    """The conditional DCGAN of 04 (FiLM generator, projection discriminator with spectral norm) and its config."""
    cfg = (train.TrainConfig.fast(steps=8, batch_size=16) if fast else
           train.TrainConfig(steps=8000, batch_size=64, log_every=25, checkpoint_every=250, seed=0, lip_weight=4.0))
    # the fast recipe's optimiser and R1 (its D already has spectral norm, and no minibatch std)
    cfg = train.TrainConfig(**{**cfg.as_dict(), **CGAN64_RECIPE.cfg, **changes})
    dev.set_seed(cfg.seed)
    G = models.ConditionalGenerator(**CGAN64)
    D = models.ConditionalDiscriminator(cond_dim=CGAN64["cond_dim"], size=CGAN64["size"], width=CGAN64["width"], regress=True)
    G.apply(models.dcgan_init), D.apply(models.dcgan_init)
    return G, D, cfg


def build_cgan64(fast: bool, directory: Path, command: str) -> None:
    """The conditional DCGAN of 04: FiLM generator, projection discriminator with spectral norm."""
    G, D, cfg = cgan64_models_and_config(fast)
    t0 = time.time()

    def report(run):
        h = run.history
        log(f"cgan64 step {run.step}/{cfg.steps} d_loss {h['d_loss'][-1]:.3f} g_loss {h['g_loss'][-1]:.3f} "
            f"D(x) {h['d_real'][-1]:.2f} D(G(z)) {h['d_fake'][-1]:.2f} style D {h['style_d'][-1]:.3f} "
            f"G {h['style_g'][-1]:.3f} {h['img_per_s'][-1]:.0f} img/s")

    run_dir = config.build_dir("runs", "cgan64-" + CGAN64_RECIPE.name + ("-fast" if fast else ""))
    batches = data.face_batches(cfg.batch_size, size=CGAN64["size"], seed=cfg.seed, makeup=0.85, with_style=True,
                               **shard())
    run = train.fit(G, D, batches, cfg, device=DEVICE, run_dir=run_dir, callbacks=[report], callback_every=250, progress=False)
    if is_main():
        finish_cgan64(run.G_ema, run.history, cfg, fast, directory, command, t0)


def cgan64_arch() -> dict:
    """What the manifest records of cgan64 besides its TrainConfig."""
    return {**CGAN64, "recipe": CGAN64_RECIPE.name, "standing_statistics": {**CGAN64_STANDING, "styles_seed": CGAN64_STYLES_SEED}}


def finish_cgan64(G_trained, history: dict, cfg, fast: bool, directory: Path, command: str, t0: float,
                  minutes_this_call: float | None = None) -> None:
    """After training: standing statistics for the EMA weights, conditioned on real styles of a data seed no run
    trains on, then obedience and skin tones measured, and the checkpoint."""
    _, styles = data.face_batches(256 if fast else 2048, size=CGAN64["size"], seed=CGAN64_STYLES_SEED, makeup=0.85,
                                  with_style=True)(0)
    G_ema = train.standing_statistics(as_saved(G_trained), cond=styles, **CGAN64_STANDING)
    enc = encoder.load_shipped(directory=directory).model
    scores = metrics.obedience_report(enc, G_ema, n=130 if fast else 1000)
    scores.update(conditional_tones(G_ema, enc, n=200 if fast else 1000, repeats=1 if fast else 3))
    scores.update(run_minutes(cfg, history, t0, minutes_this_call))
    entry = checkpoints.save("cgan64", {"G_ema": G_ema.state_dict(), "G_ema_training_stats": batchnorm_buffers(G_trained),
                                        "history": history},
                             config={**cfg.as_dict(), **cgan64_arch()},
                             command=command, metrics=scores, directory=directory)
    log(f"cgan64: {scores} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


def conditional_tones(G, enc, n: int, repeats: int) -> dict:
    """Skin-tone TV of a conditional G's faces, asked for the styles of real faces, against real faces (made up as
    the styles are), on held-out data seeds (real 9100.., second real sample 9200.., styles 9300.., noise 7100..)."""
    tv, floor = [], []
    for i in range(repeats):
        real, other = (data.face_batches(n, size=CGAN64["size"], seed=s + i, makeup=0.85)(0) for s in (9100, 9200))
        _, styles = data.face_batches(n, size=CGAN64["size"], seed=9300 + i, makeup=0.85, with_style=True)(0)
        fake = train.generate(G, z=torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(7100 + i)), cond=styles)
        hist = [metrics.tone_histogram(encoder.read_out(enc, x)["tone"]) for x in (real, other, fake)]
        tv.append(metrics.total_variation(hist[0], hist[2]))
        floor.append(metrics.total_variation(hist[0], hist[1]))
    values = torch.tensor(tv, dtype=torch.float64)
    return {"tone_tv": round(float(values.mean()), 4), **({"tone_tv_sd": round(float(values.std()), 4)} if repeats > 1 else {}),
            "floor_tone_tv": round(sum(floor) / len(floor), 4)}


def restat(name: str, fast: bool, directory: Path, command: str) -> None:
    """``--restat``: redo only what follows training (standing statistics, scores, checkpoint) on the shipped
    weights, with the statistics training left; on the CPU, the very file a rebuild on the CPU writes, without
    the hours of training (on a GPU, whose kernels differ, a rebuild's statistics differ in the last digits)."""
    state, entry = checkpoints.load(name, directory=directory, keys=("G_ema", "history"))
    build = {"dcgan64": (models.DCGANGenerator, dcgan64_models_and_config, dcgan64_arch, finish_dcgan64),
             "cgan64": (models.ConditionalGenerator, cgan64_models_and_config, cgan64_arch, finish_cgan64)}
    net, models_and_config, arch, finish = build[name]
    cfg = models_and_config(fast=fast)[2]
    defaults = train.TrainConfig().as_dict()  # a field newer than the checkpoint was at its default then
    expected = {**cfg.as_dict(), **{k: v for k, v in arch().items() if k != "standing_statistics"}}
    differ = sorted(k for k, v in expected.items() if entry.config.get(k, defaults.get(k)) != v)
    if differ:
        raise SystemExit(f"{name}'s checkpoint was trained with another config than this tool's {'--fast' if fast else 'full'} "
                         f"settings ({', '.join(differ)} differ): rebuild it instead")
    G = net.from_config(entry.config)
    G.load_state_dict({**state["G_ema"], **state.get("G_ema_training_stats", {})})
    finish(G, state["history"], cfg, fast, directory, command, time.time(),
           minutes_this_call=entry.metrics.get("train_minutes_this_call"))


def _transfer_metrics(outputs: dict, held: dict) -> dict:
    """Ground-truth scores on the held-out triplets: dE2000 per region and SSIM outside, per tone group and overall."""
    rows = []
    for name, output in outputs.items():
        scores = metrics.transfer_scores(output, held)  # scored once, summarised two ways
        rows += [{"method": name, **r} for r in metrics.summarise(scores, by_group=True) + metrics.summarise(scores)]
    return {f"{r['method']}/{r['group']}/{k}": round(r[k], 4) for r in rows for k in (*metrics.transfer.REGIONS, "ssim_outside")}


def held_out(fast: bool) -> dict:
    """Triplets of data seed 99, which no training run uses (they train on seed 0 and 1)."""
    return data.transfer_triplets(64 if fast else 500, seed=99)


def _transfer_cfg(fast: bool, **full) -> "train.transfer.TransferConfig":
    from course_lib.train.transfer import TransferConfig

    return TransferConfig.fast() if fast else TransferConfig(**full)


def _step_log(what: str):
    """A transfer training callback that logs ``what``'s step and its losses."""
    return lambda run: log(f"{what} step {run.step}: " + " ".join(f"{k} {v[-1]:.4g}" for k, v in run.history.items() if k != "step"))


def build_tryon64(fast: bool, directory: Path, command: str) -> None:
    """The try-on generator (source + style -> made up) and the style encoder (reference -> style)."""
    from course_lib.train import transfer

    if not is_main():
        return
    # G: V-Net's Dice (losses.dice_loss) and a warm-up + cosine on both rates (lr_decay): given the true shade, lips /
    # eyeshadow / cheeks 1.16 / 2.49 / 0.87 dE2000 -> 0.79 / 1.11 / 0.38 on 500 triplets of seed 99 (the Dice alone:
    # 0.84 / 1.03 / 0.36, but lips 1.56x worse on light skin than on deep; the cosine brought that to 1.16)
    cfg_g = _transfer_cfg(fast, steps=3000, lr_G=1e-3, lr_decay=True)
    # E: batches of 64 at 1e-3 with Adam (0.9, 0.999), warm-up and cosine (train_style_encoder): on 300 triplets of
    # seed 97 this read lips / eyeshadow / cheeks 3.38 / 4.32 / 1.92 dE2000 after 2,000 steps, against 4.47 / 5.28 /
    # 2.64 for the encoder trained before (4,500 batches of 16 at 2e-4, Adam (0.5, 0.999), the L1 through G).
    # The paint term weighted 4x (l1_weight 400; 100 before): 3.17 / 3.74 / 1.81 -> 2.89 / 3.41 / 1.46 after 2,000
    # steps, better on every skin tone; measured in Lab instead of sRGB (train_style_encoder): 2.58 / 3.04 / 1.22
    cfg_e = _transfer_cfg(fast, steps=6000, batch_size=64, lr_G=1e-3, beta1=0.9, seed=1, l1_weight=400.0)
    t0 = time.time()
    suffix = "-fast" if fast else ""
    G, hist_g = transfer.train_tryon(cfg_g, run_dir=config.build_dir("runs", "tryon64" + suffix), callback=_step_log("try-on G"))
    E, hist_e = transfer.train_style_encoder(cfg_e, run_dir=config.build_dir("runs", "style64" + suffix), callback=_step_log("style E"))
    held = held_out(fast)
    with torch.no_grad():
        outputs = {"shade": G(held["source"], held["style"]), "reference": G(held["source"], E(held["reference"]))}
    scores = _transfer_metrics(outputs, held)
    scores["train_minutes_this_call"] = round((time.time() - t0) / 60, 1)
    entry = checkpoints.save("tryon64", {"G": G.state_dict(), "E": E.state_dict(), "history_G": hist_g, "history_E": hist_e},
                             config={"G": cfg_g.as_dict(), "E": cfg_e.as_dict()}, command=command, metrics=scores, directory=directory)
    log(f"tryon64: {scores} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


def _build_reference_transfer(name: str, fast: bool, directory: Path, command: str, train_fn, method: str, state_key: str,
                              **full) -> None:
    """Train one unpaired reference-transfer model with ``train_fn(cfg, run_dir, callback) -> (model, history)``,
    score its made-up sources on the held-out triplets (as ``method``) and save it as ``name`` (weights under
    ``state_key``, where ``tryon.load_models`` reads them)."""
    if not is_main():
        return
    cfg = _transfer_cfg(fast, steps=1000, **full)
    t0 = time.time()
    model, history = train_fn(cfg, run_dir=config.build_dir("runs", name + ("-fast" if fast else "")), callback=_step_log(method))
    held = held_out(fast)
    with torch.no_grad():
        scores = _transfer_metrics({method: model(held["source"], held["reference"])[0]}, held)
    scores["train_minutes_this_call"] = round((time.time() - t0) / 60, 1)
    entry = checkpoints.save(name, {state_key: model.state_dict(), "history": history}, config=cfg.as_dict(),
                             command=command, metrics=scores, directory=directory)
    log(f"{name}: {scores} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


def build_beautygan64(fast: bool, directory: Path, command: str) -> None:
    """BeautyGAN-style reference transfer, trained unpaired (cycle + identity + region histogram losses)."""
    from course_lib.train import transfer

    _build_reference_transfer("beautygan64", fast, directory, command, transfer.train_reference, "beautygan", "G")


def build_layered64(fast: bool, directory: Path, command: str) -> None:
    """Unpaired reference transfer with makeup as layers: the region parser (its only trained part), then its
    ground-truth scores with the style read from each reference by fitting the layer model."""
    from course_lib.train import transfer

    _build_reference_transfer("layered64", fast, directory, command, transfer.train_layered, "layered", "model", lr_G=1e-3)


# In build order: the generators' metrics need the encoder.
TARGETS = {"encoder": build_encoder, "dcgan64": build_dcgan64, "cgan64": build_cgan64, "tryon64": build_tryon64,
           "beautygan64": build_beautygan64, "layered64": build_layered64}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"which to build (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--fast", action="store_true", help="tiny settings, written to build/checkpoints")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--restat", action="store_true",
                        help="dcgan64 / cgan64 only: redo the steps after training on the checkpoint as it is")
    args = parser.parse_args(argv)
    if args.restat and (not args.names or set(args.names) - {"dcgan64", "cgan64"}):
        parser.error("--restat takes dcgan64 and/or cgan64 by name")
    unknown = [n for n in args.names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown checkpoint(s) {unknown}; choose from {', '.join(TARGETS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    global DEVICE
    DEVICE = train.distributed.init(dev.get_device())  # joins torchrun's process group, if any
    directory = config.build_dir("checkpoints") if args.fast else config.CHECKPOINT_DIR
    rank, world = train.distributed.rank_and_world()
    log(f"device {DEVICE}, {world} process(es), {torch.get_num_threads()} threads each, writing to {directory}")
    for name in args.names or list(TARGETS):
        command = "python tools/train_checkpoints.py " + shlex.join([name] + (["--fast"] if args.fast else []))
        if args.restat:
            if is_main():  # no training: one process is enough
                restat(name, args.fast, directory, command)
        else:
            TARGETS[name](args.fast, directory, command)
        if world > 1:
            torch.distributed.barrier()  # the next target may need this one's checkpoint
    train.distributed.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
