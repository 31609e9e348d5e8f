#!/usr/bin/env python
"""Rebuild the shipped checkpoints in data/checkpoints/ (each with its sha256, config, command and metrics).

Usage:
    .venv/bin/python tools/train_checkpoints.py                 # every checkpoint, full settings
    .venv/bin/python tools/train_checkpoints.py encoder         # just one
    .venv/bin/python tools/train_checkpoints.py encoder --fast  # tiny settings, into build/checkpoints (a smoke test)

Training is seeded and runs on the CPU by default (``--device auto`` uses a GPU when there is one;
GPU kernels are not bit-for-bit reproducible, so numbers may then differ slightly).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from course_lib import checkpoints, config, data, device as dev, encoder, metrics, models, train  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build_encoder(fast: bool, directory: Path, command: str) -> None:
    cfg = encoder.EncoderConfig.fast() if fast else encoder.EncoderConfig()
    t0 = time.time()
    model, history = encoder.train_encoder(cfg, callback=lambda s, l, t: log(f"encoder step {s}/{cfg.steps} loss {l:.4f} ({t:.0f} s)"))
    metrics = encoder.evaluate(model, n=200 if fast else 1000)
    metrics["train_minutes"] = round((time.time() - t0) / 60, 1)
    entry = checkpoints.save("encoder", {"encoder": model.state_dict()}, config=encoder.config_dict(cfg),
                             command=command, metrics=metrics, directory=directory)
    log(f"encoder: {metrics} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


DCGAN64 = {"z_dim": 100, "size": 64, "width": 32}  # G and D width (pytorch/examples' ngf = ndf)


def evaluate_generator(G, directory: Path, n: int, size: int) -> dict:
    """Precision/recall/FID/tone TV of G's samples against fresh real faces, with the real-vs-real floor."""
    enc = encoder.load_shipped(directory=directory).model
    real = data.face_batches(n, size=size, seed=0, makeup=0.5)(0)
    other = data.face_batches(n, size=size, seed=1234, makeup=0.5)(0)
    fake = train.generate(G, n, generator=torch.Generator().manual_seed(2))
    report = metrics.face_report(enc, real, fake)
    report.update({f"floor_{k}": v for k, v in metrics.face_report(enc, real, other).items()})
    report["n_samples"] = n
    return report


def build_dcgan64(fast: bool, directory: Path, command: str) -> None:
    cfg = (train.TrainConfig.fast(steps=8, batch_size=16) if fast else
           train.TrainConfig(steps=6000, batch_size=64, log_every=25, checkpoint_every=250, seed=0))
    dev.set_seed(cfg.seed)
    G = models.DCGANGenerator(**DCGAN64)
    D = models.DCGANDiscriminator(size=DCGAN64["size"], width=DCGAN64["width"])
    G.apply(models.dcgan_init), D.apply(models.dcgan_init)
    t0 = time.time()

    def report(run):
        h = run.history
        log(f"dcgan64 step {run.step}/{cfg.steps} d_loss {h['d_loss'][-1]:.3f} g_loss {h['g_loss'][-1]:.3f} "
            f"D(x) {h['d_real'][-1]:.2f} D(G(z)) {h['d_fake'][-1]:.2f} {h['img_per_s'][-1]:.0f} img/s")

    run_dir = config.build_dir("runs", "dcgan64" + ("-fast" if fast else ""))
    run = train.fit(G, D, data.face_batches(cfg.batch_size, size=DCGAN64["size"], seed=cfg.seed, makeup=0.5), cfg,
                    run_dir=run_dir, callbacks=[report], callback_every=250, progress=False)
    scores = evaluate_generator(run.G_ema, directory, n=200 if fast else 2000, size=DCGAN64["size"])
    scores["train_minutes_this_call"] = round((time.time() - t0) / 60, 1)
    entry = checkpoints.save("dcgan64", {"G_ema": run.G_ema.state_dict(), "history": run.history},
                             config={**cfg.as_dict(), **DCGAN64}, command=command, metrics=scores, directory=directory)
    log(f"dcgan64: {scores} -> {entry.file} ({entry.bytes / 1e6:.2f} MB)")


TARGETS = {"encoder": build_encoder, "dcgan64": build_dcgan64}  # in build order: metrics need the encoder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"which to build (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--fast", action="store_true", help="tiny settings, written to build/checkpoints")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown checkpoint(s) {unknown}; choose from {', '.join(TARGETS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    directory = config.build_dir("checkpoints") if args.fast else config.CHECKPOINT_DIR
    log(f"device {dev.get_device()}, {torch.get_num_threads()} threads, writing to {directory}")
    for name in args.names or list(TARGETS):
        command = "python tools/train_checkpoints.py " + shlex.join([name] + (["--fast"] if args.fast else []))
        TARGETS[name](args.fast, directory, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
