"""The training skeleton (train.run.Run) on a loop of its own: a line fitted by SGD."""
import math

import pytest
import torch
from torch import nn

from course_lib import train
from course_lib.train.run import Run, cosine_decay


def fit_line(steps: int, run_dir=None, callbacks=(), lr: float = 0.1, log_every: int = 2, nan_at: int = -1):
    torch.manual_seed(0)
    net = nn.Linear(1, 1)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    noise = torch.Generator().manual_seed(1)
    run = Run("line", steps, nets={"net": net}, optimizers={"opt": opt}, config={"lr": lr, "steps": steps},
              run_dir=run_dir, state={"noise": (noise.get_state, noise.set_state)}, views={"net": net},
              log_every=log_every, checkpoint_every=2, callbacks=callbacks, callback_every=1, same_config=True)
    run.resume()
    for step in run:
        x = torch.randn(8, 1, generator=noise)
        loss = (net(x) - (3 * x + 1)).pow(2).mean() * (math.nan if step == nan_at else 1)
        opt.zero_grad(), loss.backward(), opt.step()
        run.end_step({"loss": loss.item()})
    return run.finish()


def test_history_rows_callbacks_and_views():
    seen = []
    run = fit_line(5, callbacks=[lambda r: seen.append((r.step, len(r.history.get("step", []))))])
    assert run.history["step"] == [2, 4, 5]  # every log_every steps, and the last
    assert seen == [(1, 0), (2, 1), (3, 1), (4, 2), (5, 3)]  # callback_every=1, after the row of its step
    assert run.net is run.nets["net"] and run.history["loss"][-1] < run.history["loss"][0]
    with pytest.raises(AttributeError, match="this run has no 'G_ema'"):
        run.G_ema


def test_a_crashed_run_resumes_bit_exactly(tmp_path, crash_at):
    straight = fit_line(6)
    with pytest.raises(crash_at.error):  # dies after step 3; the last checkpoint is step 2
        fit_line(6, run_dir=tmp_path, callbacks=[crash_at(3)])
    resumed = fit_line(6, run_dir=tmp_path)
    assert resumed.start == 2 and resumed.history == straight.history
    for a, b in zip(straight.net.parameters(), resumed.net.parameters()):
        assert torch.equal(a, b)


def test_resume_refuses_another_config_or_a_run_past_its_steps(tmp_path):
    fit_line(4, run_dir=tmp_path)
    with pytest.raises(ValueError, match="another config"):
        fit_line(4, run_dir=tmp_path, lr=0.2)
    with pytest.raises(ValueError, match="is at step 4, past cfg.steps=3"):
        fit_line(3, run_dir=tmp_path)
    assert fit_line(6, run_dir=tmp_path).start == 4  # steps may grow: the run is extended


def test_a_nan_loss_stops_the_run_naming_the_step_and_the_last_checkpoint(tmp_path):
    with pytest.raises(train.TrainingDiverged, match=r"step 4: loss = nan.*last good checkpoint is .*last.pt \(step 2\)"):
        fit_line(6, run_dir=tmp_path, nan_at=3)
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 2


def test_non_finite_weights_are_never_saved(tmp_path):
    run = Run("bad", 1, nets={"net": nn.Linear(1, 1)}, run_dir=tmp_path)
    with torch.no_grad():
        run.nets["net"].weight.fill_(math.inf)
    with pytest.raises(train.TrainingDiverged, match=r"net's parameter 'weight' holds inf"):
        run.finish()
    assert not (tmp_path / "last.pt").exists()


def test_cosine_decay_warms_up_then_falls_to_zero():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = cosine_decay(opt, 10, warmup=2)
    rates = []
    for _ in range(11):
        rates.append(opt.param_groups[0]["lr"])
        opt.step(), sched.step()
    assert rates[:3] == pytest.approx([0.5, 1.0, 1.0])  # linear warm-up to the full rate, then the cosine's top
    assert rates[3] < 1.0 and all(a >= b for a, b in zip(rates[2:], rates[3:])) and rates[10] == pytest.approx(0.0)
    plain = cosine_decay(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), 4)
    assert plain.get_last_lr() == [1.0]  # without warm-up the first step runs at the full rate
