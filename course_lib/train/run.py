"""One skeleton for every training loop of the library: ``Run`` owns the steps, the history, resume, atomic
checkpoints, the finite-value guard and the callbacks; a loop owns only its networks and its update.

Every loop in the library (``train.fit``, the three makeup-transfer loops, the domain encoder's two stages) has
this shape::

    run = Run("name", cfg.steps, nets={"G": G, ...}, optimizers={"opt_G": opt_G, ...}, run_dir=run_dir, ...)
    run.resume()                      # from run_dir/last.pt when there is one: same step, weights, optimisers,
                                      # random streams and history, so the run goes on as if never stopped
    for step in run:                  # run.step, run.step + 1, ..., steps - 1
        stats = <one update>          # the loop's own work: a dict of floats
        run.end_step(stats)           # NaN/inf guard, a history row every log_every steps, a checkpoint every
                                      # checkpoint_every steps, the callbacks every callback_every steps
    run.finish()                      # every weight checked finite, the last checkpoint written

Callbacks all have one signature, ``callback(run)``: they read ``run.step``, ``run.history`` and the networks
(``run.G_ema`` for ``fit``). Not in the notebooks: the training loops' machinery.
"""
from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
from torch import nn

from course_lib import checkpoints


class TrainingDiverged(RuntimeError):
    """A loss, weight or buffer became NaN or inf during training.

    Not in the notebooks: the training loops' machinery.
    """


def check_finite_stats(stats: Mapping[str, float], step: int, last_good: str) -> None:
    """Raise TrainingDiverged when a logged loss is NaN or inf, naming the step and the last good checkpoint.

    Not in the notebooks: the training loops' machinery.
    """
    for key, value in stats.items():
        if not math.isfinite(value):
            raise TrainingDiverged(f"step {step}: {key} = {value}. Training stopped; the last good checkpoint is "
                                   f"{last_good}. Try a lower learning rate, or another loss.")


def check_finite_weights(step: int, last_good: str, **nets: nn.Module | None) -> None:
    """Raise TrainingDiverged if a parameter or buffer of a network holds NaN or inf (losses can stay finite
    while, say, a batch-norm running variance overflows); called before each checkpoint and at the end.
    Not in the notebooks: the training loops' machinery."""
    for which, net in nets.items():
        if net is None:
            continue
        tensors = [("parameter", n, t) for n, t in net.named_parameters()] + [("buffer", n, t) for n, t in net.named_buffers()]
        for kind, name, tensor in tensors:
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                bad = "NaN" if torch.isnan(tensor).any() else "inf"
                raise TrainingDiverged(f"step {step}: {which}'s {kind} {name!r} holds {bad}. Training stopped; nothing "
                                       f"was saved past the last good checkpoint, {last_good}. Try a lower learning rate.")


def cosine_decay(optimizer: torch.optim.Optimizer, steps: int, warmup: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning rate times ``(1 + cos(pi * t / steps)) / 2``: from the full rate at step 0 to 0 at ``steps``.

    With ``warmup`` > 0 the rate first rises linearly from 0 over ``warmup`` steps, and the cosine runs over the
    steps after it (a large rate on a fresh network's first, largest gradients can throw it off; Goyal et al. 2017).
    Not in the notebooks: the training loops' machinery.
    """
    def factor(t: int) -> float:
        if t < warmup:
            return (t + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(t - warmup, steps - warmup) / max(steps - warmup, 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def own_random_stream(train_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a training function that seeds torch's global generator (for its networks' init) on a private copy of
    it: the caller's random stream is the same after the call as before (no hidden global state).
    Not in the notebooks: the training loops' machinery."""
    @functools.wraps(train_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch.random.fork_rng(devices=[]):
            return train_fn(*args, **kwargs)

    return wrapper


class Run:
    """One training run (see the module docstring for the loop around it).

    ``nets`` and ``optimizers`` are checkpointed and resumed by name; ``state`` maps more names to
    ``(get, set)`` pairs for anything else a run must carry over (an EMA, a noise generator, loss scalers).
    The global torch random state is always carried. ``views`` are what callbacks and the caller read as
    attributes (``run.G_ema``). With ``same_config`` a checkpoint written with another config (``steps``
    aside, which may grow to extend a finished run) is refused. Only ``rank`` 0 writes checkpoints and
    calls the callbacks (every process of a torchrun job keeps the same weights).
    Not in the notebooks: the training loops' machinery.
    """

    def __init__(self, name: str, steps: int, *, nets: Mapping[str, nn.Module],
                 optimizers: Mapping[str, torch.optim.Optimizer] = {}, config: Mapping[str, Any] | None = None,
                 run_dir: str | Path | None = None, state: Mapping[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {},
                 views: Mapping[str, Any] = {}, log_every: int = 1, checkpoint_every: int = 0,
                 callbacks: Sequence[Callable[["Run"], None]] = (), callback_every: int = 0, same_config: bool = False,
                 rank: int = 0, progress: bool = False):
        self.name, self.steps, self.config = name, steps, dict(config or {})
        self.nets, self.optimizers, self.state, self.views = dict(nets), dict(optimizers), dict(state), dict(views)
        self.log_every, self.checkpoint_every = log_every, checkpoint_every
        self.callbacks, self.callback_every = list(callbacks), callback_every or log_every
        self.same_config, self.rank, self.progress = same_config, rank, progress
        self.path = Path(run_dir) / "last.pt" if run_dir is not None else None
        self.history: dict[str, list[float]] = {}
        self.step = self.start = 0
        self.last_good = str(self.path) if self.path is not None and self.path.exists() else "none (no run_dir, or no checkpoint yet)"
        self.started = time.perf_counter()

    def __getattr__(self, name: str) -> Any:
        views = self.__dict__.get("views", {})
        if name in views:
            return views[name]
        raise AttributeError(f"this run has no {name!r} (it has {', '.join(sorted(views)) or 'no views'})")

    # ---- (1) resume: the state of the last checkpoint, or nothing ----------------------------------------------
    def resume(self, enabled: bool = True) -> bool:
        """Continue from ``run_dir/last.pt`` when there is one (and ``enabled``); return whether it did."""
        if self.path is None or not enabled or not self.path.exists():
            return False
        state = checkpoints.safe_torch_load(self.path, f"{self.name} run state")
        if self.same_config and {k: v for k, v in state["config"].items() if k != "steps"} != \
                {k: v for k, v in self.config.items() if k != "steps"}:
            raise ValueError(f"{self.path} was written with another config (only `steps` may grow, to extend a run); "
                             "delete it or use another run_dir")
        if int(state["step"]) > self.steps:
            raise ValueError(f"{self.path} is at step {state['step']}, past cfg.steps={self.steps}: raise steps to continue "
                             f"it, or use another run_dir (or resume=False) to start over")
        for key, net in self.nets.items():
            net.load_state_dict(state["nets"][key])
        for key, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][key])
        for key, (_, set_state) in self.state.items():
            if state["state"].get(key) is not None:
                set_state(state["state"][key])
        torch.set_rng_state(state["rng"])
        self.history, self.step = state["history"], int(state["step"])
        self.start = self.step
        return True

    # ---- (2) the steps -------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[int]:
        bar = _progress(self.steps, self.step, self.progress and self.rank == 0)
        self.bar = bar
        self.started = time.perf_counter()
        while self.step < self.steps:
            yield self.step
            bar.update(1)
        bar.close()

    def end_step(self, stats: Mapping[str, float], row: Callable[[], Mapping[str, float]] | None = None) -> None:
        """Close step ``run.step``: guard ``stats`` (NaN/inf stops the run), log a history row (``row()``, else
        ``stats``) every ``log_every`` steps and at the last, checkpoint every ``checkpoint_every``, call back."""
        self.step += 1
        check_finite_stats(stats, self.step, self.last_good)
        if self.step % self.log_every == 0 or self.step == self.steps:
            for key, value in {"step": self.step, **(row() if row is not None else stats)}.items():
                self.history.setdefault(key, []).append(float(value))
        if self.checkpoint_every and self.step % self.checkpoint_every == 0 and self.step != self.steps:
            self.save()
        if self.callbacks and self.rank == 0 and (self.step % self.callback_every == 0 or self.step == self.steps):
            for callback in self.callbacks:
                callback(self)

    @property
    def seconds(self) -> float:
        """Wall-clock seconds since the steps of this call began."""
        return time.perf_counter() - self.started

    # ---- (3) checkpoints and the end -----------------------------------------------------------------------------
    def guarded(self) -> dict[str, nn.Module]:
        """Every network whose weights must stay finite: the nets, and the modules among the views."""
        out = dict(self.nets)
        for key, value in self.views.items():
            if isinstance(value, nn.Module) and all(value is not net for net in out.values()):
                out[key] = value
        return out

    def save(self) -> None:
        """Check every weight and buffer, then write ``last.pt`` atomically (rank 0, with a run_dir)."""
        check_finite_weights(self.step, self.last_good, **self.guarded())
        if self.path is None or self.rank != 0:
            return
        state = {"step": self.step, "history": self.history, "config": self.config, "rng": torch.get_rng_state(),
                 "nets": {k: net.state_dict() for k, net in self.nets.items()},
                 "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
                 "state": {k: get_state() for k, (get_state, _) in self.state.items()}}
        checkpoints.atomic_write(self.path, lambda fh: torch.save(state, fh))
        self.last_good = f"{self.path} (step {self.step})"

    def finish(self) -> "Run":
        """Check the weights and write the last checkpoint (when the run did any step); return the run."""
        if self.step > self.start or self.path is None or not self.path.exists():
            self.save()
        return self


def _progress(total: int, start: int, enabled: bool):
    """A tqdm.auto bar (a widget in Jupyter, text in a terminal), or a silent stand-in."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc="training", unit="step", leave=True)


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...
