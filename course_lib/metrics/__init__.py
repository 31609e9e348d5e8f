"""Measuring GANs: what the notebooks assert and tabulate.

- Image metrics (03_dcgan_faces, 06_evaluation_fairness) on domain-encoder features: precision, recall,
  density and coverage on k-NN manifolds, FID and KID, skin-tone histograms and total variation.
- Conditional generation (04_conditional_gan): requested vs produced lip colour, identity drift.
- Toy metrics (01_minimax_game, 02_training_dynamics): densities on a 1-D grid (the optimal D, the value
  V(D, G), KL and Jensen-Shannon divergences) and sample scores against a known Gaussian mixture
  (modes covered, high-quality fraction), plus D evaluated over a 2-D grid for pictures.
- Makeup transfer (05_makeup_transfer, 06_evaluation_fairness): dE2000 per region and SSIM outside the makeup
  against SynthFaces' ground truth, overall and per skin-tone group.
"""
from course_lib.metrics.conditional import (
    identity_drift, identity_features, lip_colour_error, lipstick_requests, obedience_report,
)
from course_lib.metrics.transfer import (
    TONE_GROUPS, format_table, region_delta_e, ssim_outside, summarise, tone_group, transfer_scores, transfer_table,
)
from course_lib.metrics.images import (
    IDEAL, coverage_by_group, distance_in_radii, face_report, feature_scores, fid, format_scores, kid, noise_floor,
    noise_margins, precision_recall, tone_histogram, total_variation, verdict,
)
from course_lib.metrics.toy import (
    d_on_grid, high_quality_fraction, jsd_on_grid, kl_on_grid, minimax_value_on_grid, mode_counts, modes_covered,
    optimal_discriminator, toy_scores,
)

__all__ = [
    "coverage_by_group", "d_on_grid", "distance_in_radii", "face_report", "feature_scores", "fid", "format_scores",
    "format_table", "high_quality_fraction", "IDEAL", "identity_drift", "identity_features", "jsd_on_grid", "kid",
    "kl_on_grid", "lip_colour_error", "lipstick_requests", "minimax_value_on_grid", "mode_counts", "modes_covered",
    "noise_floor", "noise_margins", "obedience_report", "optimal_discriminator", "precision_recall",
    "region_delta_e", "ssim_outside", "summarise", "tone_group", "TONE_GROUPS", "tone_histogram",
    "total_variation", "toy_scores", "transfer_scores", "transfer_table", "verdict"
]
