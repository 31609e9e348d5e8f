"""train.fit: history, EMA, exact resume after a crash, NaN guard, generate/slerp, and two-process training."""
import copy
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from course_lib import config, losses, models, train


def tiny(seed: int = 0):
    torch.manual_seed(seed)
    G, D = models.DCGANGenerator(size=32, width=8), models.DCGANDiscriminator(size=32, width=8)
    G.apply(models.dcgan_init), D.apply(models.dcgan_init)
    return G, D


def data(step: int) -> torch.Tensor:
    return torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(step)) * 2 - 1


CFG = dict(batch_size=8, log_every=1, checkpoint_every=3)


def test_fit_records_history_and_changes_weights():
    G, D = tiny()
    before = [p.detach().clone() for p in G.parameters()]
    run = train.fit(G, D, data, train.TrainConfig(steps=4, **CFG), progress=False)
    assert run.step == 4 and run.history["step"] == [1, 2, 3, 4]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "img_per_s"):
        assert len(run.history[key]) == 4 and all(torch.isfinite(torch.tensor(run.history[key])))
    assert any(not torch.equal(a, b) for a, b in zip(before, run.G.parameters()))
    # the EMA generator is a separate, slower-moving copy
    assert any(not torch.equal(a, b) for a, b in zip(run.G.parameters(), run.G_ema.parameters()))


def test_conditional_fit_trains_the_style_regressor_and_pushes_G_with_it():
    def cond_data(step):
        x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(step)) * 2 - 1
        return x, torch.rand(8, 18, generator=torch.Generator().manual_seed(1000 + step))

    def models_(regress):
        torch.manual_seed(0)
        G = models.ConditionalGenerator(size=32, width=8)
        D = models.ConditionalDiscriminator(size=32, width=8, regress=regress)
        return G, D

    plain = train.fit(*models_(False), cond_data, train.TrainConfig(steps=3, **CFG), progress=False)
    assert "style_d" not in plain.history
    G, D = models_(True)
    head_before = D.regress.weight.detach().clone()
    with_style = train.fit(G, D, cond_data, train.TrainConfig(steps=3, **CFG), progress=False)
    assert len(with_style.history["style_d"]) == 3 and min(with_style.history["style_g"]) > 0
    assert not torch.equal(head_before, D.regress.weight)  # D learns to read styles ...
    # ... and G gets a different update than without the regression term (same seeds otherwise)
    assert any(not torch.equal(a, b) for a, b in zip(plain.G.parameters(), with_style.G.parameters()))
    off = train.fit(*models_(True), cond_data, train.TrainConfig(steps=3, style_weight=0.0, **CFG), progress=False)
    assert "style_d" not in off.history


def test_resume_after_a_crash_continues_identically(tmp_path, crash_at):
    straight = train.fit(*tiny(), data, train.TrainConfig(steps=6, **CFG), progress=False)
    with pytest.raises(crash_at.error):  # dies after the step-3 checkpoint, mid-run
        train.fit(*tiny(), data, train.TrainConfig(steps=6, **CFG), run_dir=tmp_path, callbacks=[crash_at(4)],
                  callback_every=1, progress=False)
    resumed = train.fit(*tiny(seed=99), data, train.TrainConfig(steps=6, **CFG), run_dir=tmp_path, progress=False)
    assert resumed.history["d_loss"] == straight.history["d_loss"]
    for a, b in zip(straight.G.parameters(), resumed.G.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(straight.G_ema.parameters(), resumed.G_ema.parameters()):
        assert torch.equal(a, b)


def test_nan_stops_training_naming_the_step_and_keeps_the_checkpoint(tmp_path):
    def poisoned(step):
        x = data(step)
        return x * float("nan") if step >= 3 else x

    with pytest.raises(train.TrainingDiverged, match=r"step 4: d_loss = nan.*last good checkpoint is .*last.pt \(step 3\)"):
        train.fit(*tiny(), poisoned, train.TrainConfig(steps=8, **CFG), run_dir=tmp_path, progress=False)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["step"] == 3 and all(torch.isfinite(v).all() for v in state["nets"]["G"].values() if v.is_floating_point())


def test_guard_catches_a_non_finite_buffer_that_the_losses_do_not_show(tmp_path):
    # an exploding batch-norm running variance leaves every loss finite (training uses batch statistics)
    def blow_up(run):
        if run.step == 4:
            name, buf = next((n, b) for n, b in run.D.named_buffers() if n.endswith("running_var"))
            buf.fill_(float("inf"))

    with pytest.raises(train.TrainingDiverged, match=r"step 6: D's buffer '.*running_var' holds inf.*last.pt \(step 3\)"):
        train.fit(*tiny(), data, train.TrainConfig(steps=8, **CFG), run_dir=tmp_path, callbacks=[blow_up],
                  callback_every=1, progress=False)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 3  # the bad state was never written
    with pytest.raises(train.TrainingDiverged, match=r"step 2: G's parameter .* holds NaN"):  # checked at the end too
        train.fit(*tiny(), data, train.TrainConfig(steps=2, **CFG), progress=False,
                  callbacks=[lambda run: next(run.G.parameters()).data.fill_(float("nan"))], callback_every=2)


@pytest.mark.parametrize("field, value, error, message", [
    ("steps", -3, ValueError, "TrainConfig.steps must be an int >= 1, got -3"),
    ("steps", 0, ValueError, "TrainConfig.steps must be an int >= 1, got 0"),
    ("steps", 10.0, TypeError, r"TrainConfig.steps must be an int >= 1, got 10.0 \(float\)"),
    ("batch_size", 0, ValueError, "TrainConfig.batch_size must be an int >= 1"),
    ("n_critic", 0, ValueError, "TrainConfig.n_critic must be an int >= 1, got 0"),
    ("g_steps", 0, ValueError, "TrainConfig.g_steps must be an int >= 1, got 0"),
    ("log_every", 0, ValueError, "TrainConfig.log_every must be an int >= 1, got 0"),
    ("checkpoint_every", -1, ValueError, "TrainConfig.checkpoint_every must be an int >= 0"),
    ("seed", "0", TypeError, r"TrainConfig.seed must be an int >= 0, got '0' \(str\)"),
    ("seed", 1.5, TypeError, "TrainConfig.seed must be an int"),
    ("z_dim", True, TypeError, "TrainConfig.z_dim must be an int"),
    ("lr_G", 0.0, ValueError, r"TrainConfig.lr_G must be a finite number in \(0, inf\), got 0.0"),
    ("lr_D", float("nan"), ValueError, "TrainConfig.lr_D must be a finite number"),
    ("lr_D", "2e-4", TypeError, "TrainConfig.lr_D must be a number"),
    ("beta1", 1.0, ValueError, r"TrainConfig.beta1 must be a finite number in \[0, 1\), got 1.0"),
    ("beta2", -0.1, ValueError, "TrainConfig.beta2 must be a finite number in"),
    ("r1_gamma", -1.0, ValueError, "TrainConfig.r1_gamma must be a finite number in"),
    ("r1_gamma", float("inf"), ValueError, "TrainConfig.r1_gamma must be a finite number in"),
    ("style_weight", -1.0, ValueError, "TrainConfig.style_weight"),
    ("lip_weight", None, TypeError, "TrainConfig.lip_weight must be a number"),
    ("amp", "yes", TypeError, "TrainConfig.amp must be True or False, got 'yes'"),
    ("compile", 1, TypeError, "TrainConfig.compile must be True or False"),
    ("loss", "wgan", KeyError, "unknown loss 'wgan'"),
    ("augment", "flip", ValueError, "unknown DiffAugment transform"),
])
def test_train_config_validates_itself(field, value, error, message):
    with pytest.raises(error, match=message):
        train.TrainConfig(**{field: value})
    cfg = train.TrainConfig(steps=1, **CFG)  # a field changed after the config was made is caught when fit starts
    setattr(cfg, field, value)
    with pytest.raises(error, match=message):
        train.fit(*tiny(), data, cfg, progress=False)


def test_same_seed_twice_gives_identical_samples():
    runs = [train.fit(*tiny(), data, train.TrainConfig(steps=3, **CFG), progress=False) for _ in range(2)]
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    assert torch.equal(train.generate(runs[0].G_ema, z=z), train.generate(runs[1].G_ema, z=z))


def test_a_dataloader_works_as_data():
    images = torch.rand(20, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    loader = torch.utils.data.DataLoader(images, batch_size=8)  # batches of 8, 8, 4, then it starts again
    run = train.fit(*tiny(), loader, train.TrainConfig(steps=4, **CFG), progress=False)  # cycles past the end
    order = [images[0:8], images[8:16], images[16:20], images[0:8]]
    same = train.fit(*tiny(), lambda step: order[step], train.TrainConfig(steps=4, **CFG), progress=False)
    assert run.step == 4 and run.history["step"] == [1, 2, 3, 4]
    for a, b in zip(run.G.parameters(), same.G.parameters()):  # the loader's batches, in the loader's order
        assert torch.equal(a, b)


def test_generate_and_slerp():
    G, _ = tiny()
    x = train.generate(G, 5, generator=torch.Generator().manual_seed(1))
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1 and G.training
    z0, z1 = torch.randn(2, 100, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(train.slerp(z0, z1, 0.0), z0)
    torch.testing.assert_close(train.slerp(z0, z1, 1.0), z1)
    mid = train.slerp(z0 / z0.norm(), z1 / z1.norm(), 0.5)
    torch.testing.assert_close(mid.norm(), torch.tensor(1.0))  # stays on the sphere, unlike lerp
    with pytest.raises(ValueError, match="n >= 1 or a noise tensor"):
        train.generate(G)


def _first_norm(net: torch.nn.Module) -> torch.nn.BatchNorm2d:
    return next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_standing_statistics_average_the_batch_statistics_of_g_own_weights():
    G, _ = tiny()
    G.eval()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    seen = []  # what the first batch norm sees, batch by batch, in a copy run the same way
    probe = copy.deepcopy(G).train()
    norm = _first_norm(probe)
    norm.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    noise = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(3):
            probe(torch.randn(6, G.z_dim, generator=noise))
    S = train.standing_statistics(G, batches=3, batch_size=6, seed=3)
    first = _first_norm(S)
    # the plain average (not momentum 0.1) of the batch means and of the unbiased batch variances
    torch.testing.assert_close(first.running_mean, torch.stack([x.mean((0, 2, 3)) for x in seen]).mean(0))
    torch.testing.assert_close(first.running_var, torch.stack([x.var((0, 2, 3), unbiased=True) for x in seen]).mean(0))
    assert not S.training and int(first.num_batches_tracked) == 3 and first.momentum == norm.momentum == 0.1
    # G itself is untouched, and only the statistics changed
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    for key, value in S.state_dict().items():
        same = torch.equal(before[key], value)
        assert same != ("running_" in key or "num_batches" in key), key
    # seeded: the same seed gives the same statistics, another seed others
    again, other = (train.standing_statistics(G, batches=3, batch_size=6, seed=s) for s in (3, 4))
    assert torch.equal(_first_norm(again).running_mean, first.running_mean)
    assert not torch.equal(_first_norm(other).running_mean, first.running_mean)


def test_jacobian_truncation_keeps_the_draws_where_g_stretches_least():
    """Of n / keep draws it returns the n with the smallest finite-difference stretch; with bins, the same share of
    every brightness bin; the same generator seed gives the same noise."""
    G, _ = tiny()
    G.train()  # scored in eval mode (batch norm's running statistics), left in the mode it came in
    kept = train.jacobian_truncation(G, 30, keep=0.5, bins=0, generator=torch.Generator().manual_seed(3))
    again = train.jacobian_truncation(G, 30, keep=0.5, bins=0, generator=torch.Generator().manual_seed(3))
    assert kept.shape == (30, G.z_dim) and torch.equal(kept, again) and G.training
    gen = torch.Generator().manual_seed(3)  # the same draws and directions, scored here by hand
    z = torch.randn(60, G.z_dim, generator=gen)
    G.eval()
    with torch.no_grad():
        x = G(z).float()
        stretch = torch.zeros(60)
        for _ in range(2):
            v = torch.randn(z.shape, generator=gen)
            stretch += (G(z + 1e-2 * v / v.norm(dim=1, keepdim=True)).float() - x).flatten(1).norm(dim=1) / 1e-2
    assert torch.equal(kept, z[stretch.argsort()[:30].sort().values])  # the least stretched half, in the order drawn
    centre = x[:, :, 12:20, 12:20].mean((1, 2, 3))  # the centre square of a 32 px face
    binned = train.jacobian_truncation(G, 30, keep=0.5, bins=4, generator=torch.Generator().manual_seed(3))
    rows = [int((z == b).all(1).nonzero()) for b in binned]
    which = torch.bucketize(centre, centre.quantile(torch.linspace(0, 1, 5)[1:-1]))
    counts, sizes = torch.bincount(which[rows], minlength=4), torch.bincount(which, minlength=4)
    assert (counts - sizes / 2).abs().max() <= 1  # half of every bin, to rounding
    for b in range(4):  # within a bin, the least stretched half
        in_bin = (which == b).nonzero().flatten()
        picked = sorted(set(rows) & set(in_bin.tolist()))
        assert stretch[picked].max() <= stretch[in_bin].sort().values[len(picked) - 1] + 1e-6
    every = train.jacobian_truncation(G, 8, keep=1.0, bins=4, generator=torch.Generator().manual_seed(1))  # keep 1: every draw
    assert sorted(map(tuple, every.tolist())) == sorted(map(tuple, torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(1)).tolist()))


def test_bad_config_values_are_named():
    with pytest.raises(ValueError, match=r"TrainConfig.ema must be a finite number in \[0, 1\), got 1.5"):
        train.fit(*tiny(), data, train.TrainConfig(steps=1, ema=1.5, **CFG), progress=False)
    with pytest.raises(KeyError, match="unknown loss 'wgan'"):
        train.fit(*tiny(), data, train.TrainConfig(steps=1, loss="wgan", **CFG), progress=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_processes_train_in_lockstep(tmp_path):
    """torchrun-style: 2 processes, gloo; each draws different data, and their weights stay identical."""
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(config.REPO_ROOT)!r})
        from course_lib import models, train
        from course_lib.train import distributed
        distributed.init()
        rank, world = distributed.rank_and_world()
        torch.manual_seed(rank)  # different inits on purpose: fit must start every rank from rank 0's weights
        G, D = models.DCGANGenerator(size=32, width=8), models.DCGANDiscriminator(size=32, width=8)
        data = lambda step: torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(100 * step + rank)) * 2 - 1
        run = train.fit(G, D, data, train.TrainConfig(steps=3, batch_size=4, log_every=1, checkpoint_every=0), progress=False)
        torch.save({{"G": run.G.state_dict(), "D": run.D.state_dict(), "world": world}}, {str(tmp_path)!r} + f"/rank{{rank}}.pt")
        distributed.cleanup()
    """))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    procs = [subprocess.Popen([sys.executable, str(script)], env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert a["world"] == b["world"] == 2
    for net in ("G", "D"):
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key} differs between ranks"


def test_a_checkpoint_past_the_configured_steps_is_refused(tmp_path):
    train.fit(*tiny(), data, train.TrainConfig(steps=3, **CFG), run_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"is at step 3, past cfg.steps=2"):
        train.fit(*tiny(), data, train.TrainConfig(steps=2, **CFG), run_dir=tmp_path, progress=False)


def test_lazy_r1_runs_every_kth_d_step_at_k_times_the_weight_and_betas_reach_adam(tmp_path):
    gammas = []

    def spy(D, x_real, gamma):
        gammas.append(gamma)
        return losses.r1_penalty(D, x_real, gamma)

    G, D = models.DCGANGenerator(size=32, width=8), models.DCGANDiscriminator(size=32, width=8, norm="none", mbstd_group=4)
    cfg = train.TrainConfig(steps=6, r1_gamma=0.5, r1_every=3, beta1=0.0, beta2=0.99, **CFG)
    run = train.fit(G, D, data, cfg, progress=False, run_dir=tmp_path, r1_penalty=spy)
    assert gammas == [1.5, 1.5]  # D steps 0 and 3 of 0..5, each with gamma * r1_every
    assert all(v > 0 for v in run.history["r1"])  # the last penalty is carried into every logged row
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert tuple(state["optimizers"]["opt_D"]["param_groups"][0]["betas"]) == (0.0, 0.99)
    with pytest.raises(ValueError, match="TrainConfig.r1_every must be an int >= 1, got 0"):
        train.fit(*tiny(), data, train.TrainConfig(steps=1, r1_every=0, **CFG), progress=False)


def test_g_steps_updates_g_that_many_times_per_d_step(tmp_path):
    cfg = train.TrainConfig(steps=3, g_steps=2, **CFG)
    train.fit(*tiny(), data, cfg, progress=False, run_dir=tmp_path)
    state = torch.load(tmp_path / "last.pt", weights_only=True)["optimizers"]
    g_updates = {int(v["step"]) for v in state["opt_G"]["state"].values()}
    d_updates = {int(v["step"]) for v in state["opt_D"]["state"].values()}
    assert g_updates == {6} and d_updates == {3}  # two G updates per step, on fresh noise; D once


def test_standing_statistics_of_a_conditional_g_use_the_conditions_given():
    torch.manual_seed(0)
    G = models.ConditionalGenerator(z_dim=8, cond_dim=15, size=32, width=4)
    plain = torch.rand(10, 15)
    shifted = plain * 0.2
    a, b, again = (train.standing_statistics(G, batches=2, batch_size=4, cond=c) for c in (plain, shifted, plain))
    stats = [torch.cat([m.running_mean for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]) for net in (a, b, again)]
    assert torch.equal(stats[0], stats[2]) and not torch.allclose(stats[0], stats[1])
    x = train.generate(a, z=torch.randn(3, 8), cond=plain[:3])
    assert x.shape == (3, 3, 32, 32) and torch.isfinite(x).all()
