"""Exercise checkers: run the student's function beside the reference and explain what differs.

Each ``check_*`` tries several inputs (ordinary logits and extreme ones: +-50, -120), and when the answer is wrong
it looks for the usual mistakes (wrong sign, sum instead of mean, halved, sigmoid applied twice, swapped
arguments, NaN at extreme logits...) so the message says *what* to fix. A wrong answer raises
``CheckError`` (an ``AssertionError``); a right one prints a one-line confirmation. No checker moves the
notebook's random streams, and an error inside the student's function is reported as a CheckError naming the
line, not as a traceback through the checker.
"""
from course_lib.checks.common import CheckError, guarded
from course_lib.checks.conditional import check_film, check_projection_logits
from course_lib.checks.evaluation import check_fid, check_precision_recall
from course_lib.checks.convergence import check_minibatch_std, check_r1_penalty
from course_lib.checks.dcgan import (
    check_dcgan_init, check_fixed_g_step, check_fixed_generator, check_generator_block, check_sample_real,
)
from course_lib.checks.transfer import check_cycle_loss, check_region_histogram_loss
from course_lib.checks.theory import (
    check_d_loss_minimax, check_d_step, check_g_loss_nonsaturating, check_g_loss_saturating, check_gradient_penalty,
    check_optimal_d,
)

# Every checker runs guarded: the global random states (torch, numpy, Python) are restored afterwards, and an
# exception raised inside the student's code becomes a CheckError saying which line failed and why.
for _name in [n for n in dir() if n.startswith("check_")]:
    globals()[_name] = guarded(globals()[_name])
del _name

__all__ = [
    "check_cycle_loss", "check_d_loss_minimax", "check_d_step", "check_dcgan_init", "check_fid", "check_film",
    "check_fixed_g_step", "check_fixed_generator", "check_g_loss_nonsaturating", "check_g_loss_saturating", "check_generator_block",
    "check_gradient_penalty", "check_minibatch_std", "check_optimal_d", "check_r1_penalty", "check_precision_recall", "check_projection_logits",
    "check_region_histogram_loss", "check_sample_real", "CheckError"
]
