"""Learning-rate schedules: `schedule(step) -> lr`, step = optimizer updates done so far (0, 1, ...).

Give one to an optimizer as its learning rate and it is evaluated before every update:

    opt = nnc.optim.SGD(lr=nnc.optim.schedules.CosineDecay(0.1, decay_steps=1000), momentum=0.9)

or drive the rate per epoch with the `LearningRateScheduler` callback (the schedule is then called
with the epoch number). Reduce-on-plateau depends on the validation loss, so it is a callback:
`nnc.callbacks.ReduceLROnPlateau`.

    StepDecay(lr0, step_size, gamma=0.1)         lr0 * gamma ** floor(step / step_size)
    ExponentialDecay(lr0, decay_steps, decay_rate, staircase=False)
                                                 lr0 * decay_rate ** (step / decay_steps)
    CosineDecay(lr0, decay_steps, alpha=0.0)     lr0 * (alpha + (1 - alpha) * (1 + cos(pi * t / T)) / 2),
                                                 t = min(step, T): cosine annealing (Loshchilov & Hutter
                                                 2017) without restarts, ending at alpha * lr0
    WarmUp(after, warmup_steps, start_lr=0.0)    linear from start_lr to after(0) over warmup_steps steps,
                                                 then after(step - warmup_steps) (Goyal et al. 2017)
"""
import math
from typing import Any

from .._names import Registered, Registry
from ..validation import check_number, check_positive_int

SCHEDULES = Registry("learning-rate schedule", list_classes=True)   # configs name them by class


class Schedule(Registered):
    """Base class of the learning-rate schedules: schedule(step) -> lr, a float.

    step is the number of optimizer updates done so far (0, 1, ...), or the epoch number under
    LearningRateScheduler. A subclass implements __call__ and get_config (its constructor arguments)."""
    registry = SCHEDULES

    def __call__(self, step):
        """The learning rate at `step` (subclasses)."""
        raise NotImplementedError

    def get_config(self):
        """Constructor arguments, JSON-serializable: `type(s)(**s.get_config())` rebuilds it."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _lr0(cls, lr):
    return check_number(cls, "initial_learning_rate", lr, minimum=0, strict=True)


class StepDecay(Schedule):
    """Piecewise-constant decay: lr(t) = lr0 * gamma ** floor(t / step_size).

    lr0 = initial_learning_rate; the rate is multiplied by gamma every step_size steps (PyTorch's StepLR)."""
    aliases = ("step_decay",)

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        self.initial_learning_rate = _lr0("StepDecay", initial_learning_rate)
        self.step_size = check_positive_int("StepDecay", "step_size", step_size)
        self.gamma = check_number("StepDecay", "gamma", gamma, minimum=0, strict=True)

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (int(step) // self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "step_size": self.step_size,
                "gamma": self.gamma}


class ExponentialDecay(Schedule):
    """Exponential decay: lr(t) = lr0 * decay_rate ** (t / decay_steps) (Keras' ExponentialDecay).

    lr0 = initial_learning_rate. staircase=True uses floor(t / decay_steps), so the rate drops in
    steps, once every decay_steps updates."""
    aliases = ("exponential_decay",)

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = _lr0("ExponentialDecay", initial_learning_rate)
        self.decay_steps = check_positive_int("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate = check_number("ExponentialDecay", "decay_rate", decay_rate, minimum=0, strict=True)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = int(step) / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class CosineDecay(Schedule):
    """Cosine annealing without restarts (Loshchilov & Hutter 2017), Keras' CosineDecay:

        lr(t) = lr0 * (alpha + (1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2),   T = decay_steps

    from lr0 = initial_learning_rate at t = 0 down to alpha * lr0 at t = T, and constant after."""
    aliases = ("cosine_decay", "cosine_annealing")

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = _lr0("CosineDecay", initial_learning_rate)
        self.decay_steps = check_positive_int("CosineDecay", "decay_steps", decay_steps)
        self.alpha = check_number("CosineDecay", "alpha", alpha, minimum=0, maximum=1)

    def __call__(self, step):
        t = min(int(step), self.decay_steps) / self.decay_steps
        return self.initial_learning_rate * (self.alpha + (1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * t)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha}


class WarmUp(Schedule):
    """Linear warm-up in front of `after`, a Schedule or a constant learning rate."""
    aliases = ("warmup", "warm_up")

    def __init__(self, after, warmup_steps, start_lr=0.0):
        self.after = get(after) if isinstance(after, (dict, Schedule)) else \
            check_number("WarmUp", "after", after, minimum=0, strict=True)
        self.warmup_steps = check_positive_int("WarmUp", "warmup_steps", warmup_steps)
        self.start_lr = check_number("WarmUp", "start_lr", start_lr, minimum=0)

    def _after(self, step):
        return self.after(step) if isinstance(self.after, Schedule) else self.after

    def __call__(self, step):
        step = int(step)
        if step < self.warmup_steps:
            return self.start_lr + (self._after(0) - self.start_lr) * step / self.warmup_steps
        return self._after(step - self.warmup_steps)

    def get_config(self):
        after = serialize(self.after) if isinstance(self.after, Schedule) else self.after
        return {"after": after, "warmup_steps": self.warmup_steps, "start_lr": self.start_lr}


def get(identifier: "dict[str, Any] | Schedule") -> "Schedule":
    """A Schedule from an instance or {"class_name", "config"}."""
    if isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, dict):
        return SCHEDULES[identifier.get("class_name", "")](**identifier.get("config", {}))
    raise TypeError(f"expected a Schedule or a config dict, got {identifier!r}")


def serialize(schedule: "Schedule") -> dict[str, Any]:
    """The config dict of a Schedule, {"class_name": ..., "config": schedule.get_config()};
    get(serialize(s)) builds an equal schedule."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
