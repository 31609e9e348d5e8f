"""Training GANs: the two steps (``steps``), the loop around them (``loop``), the skeleton every training loop of the
library runs in (``run``: steps, history, resume, checkpoints, the NaN/inf guard, callbacks), several processes
(``distributed``), named DCGAN recipes (``recipes``) and DiffAugment for small data sets (``augment``).

``from course_lib import train``; then ``train.d_step``, ``train.g_step`` (02_training_dynamics) and
``train.fit``, ``train.TrainConfig``, ``train.generate``, ``train.recipes.FAST`` (03_dcgan_faces onwards).
"""
from course_lib.train import augment, distributed, recipes, run
from course_lib.train.loop import EMA, Conditioned, Run, TrainConfig, TrainingDiverged, fit, generate, jacobian_truncation, slerp, standing_statistics
from course_lib.train.steps import LOSSES, LossPair, d_step, g_step, get_loss

__all__ = ["augment", "EMA", "LOSSES", "Conditioned", "LossPair", "Run", "TrainConfig", "TrainingDiverged", "d_step", "distributed", "fit",
           "g_step", "generate", "get_loss", "jacobian_truncation", "recipes", "run", "slerp", "standing_statistics"]
