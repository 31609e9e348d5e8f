import math

import pytest
import torch

from course_lib import data, metrics

RING = data.ring_of_8()  # sigma 0.02: "within 3 sigma" means within 0.06 of a centre


def points_at(modes, counts, offset=0.0):
    """counts[i] points at mode modes[i], shifted by ``offset`` along x."""
    pts = [RING.centres[m].repeat(c, 1) for m, c in zip(modes, counts)]
    return torch.cat(pts) + torch.tensor([offset, 0.0])


def test_mode_counts_modes_covered_and_high_quality_on_constructed_points():
    x = torch.cat([points_at([0, 1, 2], [50, 30, 5]), torch.zeros(15, 2)])  # 15 points at the centre: no mode
    torch.testing.assert_close(metrics.mode_counts(x, RING), torch.tensor([50, 30, 5, 0, 0, 0, 0, 0]))
    assert metrics.high_quality_fraction(x, RING) == pytest.approx(0.85)
    assert metrics.modes_covered(x, RING, min_fraction=0.01) == 3  # needs 1 of 100 points
    assert metrics.modes_covered(x, RING, min_fraction=0.1) == 2  # needs 10: mode 2 has 5
    assert metrics.toy_scores(x, RING) == {"modes": 3, "modes_any": 3, "hq": pytest.approx(0.85)}


def test_modes_any_counts_a_mode_grazed_by_one_sample():
    x = torch.cat([points_at([0], [198]), points_at([1, 2], [1, 1])])  # 200 points: 1 % needs 2 of them
    assert metrics.toy_scores(x, RING) == {"modes": 1, "modes_any": 3, "hq": 1.0}
    away = torch.cat([points_at([0], [199]), points_at([1], [1], offset=0.1)])  # off mode 1 by 5 sigma
    assert metrics.toy_scores(away, RING)["modes_any"] == 1


def test_three_sigma_is_the_boundary():
    inside, outside = points_at([4], [10], offset=0.059), points_at([4], [10], offset=0.061)
    assert metrics.high_quality_fraction(inside, RING) == 1.0
    assert metrics.high_quality_fraction(outside, RING) == 0.0
    assert metrics.modes_covered(outside, RING) == 0


def test_real_samples_score_like_the_gaussian_mass_within_three_sigma():
    x = RING.sample(20000, torch.Generator().manual_seed(0))
    assert metrics.modes_covered(x, RING) == 8
    assert metrics.high_quality_fraction(x, RING) == pytest.approx(1 - math.exp(-4.5), abs=0.003)


def test_optimal_discriminator_value_and_jsd_on_a_grid():
    x = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    p, q = data.gaussian_1d(0.0, 1.0).pdf(x).double(), data.gaussian_1d(1.0, 1.5).pdf(x).double()
    d = metrics.optimal_discriminator(p, q)
    torch.testing.assert_close(d, p / (p + q))
    # V(D*, G) = -log 4 + 2 JSD, and JSD of identical densities is 0; of disjoint ones, log 2.
    value, jsd = metrics.minimax_value_on_grid(d, p, q, dx), metrics.jsd_on_grid(p, q, dx)
    torch.testing.assert_close(value, -math.log(4) + 2 * jsd, atol=1e-5, rtol=0)
    assert abs(metrics.jsd_on_grid(p, p, dx).item()) < 1e-6
    left, right = (x < -1).double() / 7, (x > 1).double() / 7
    torch.testing.assert_close(metrics.jsd_on_grid(left, right, dx), torch.tensor(math.log(2)), atol=1e-3, rtol=0)
    gap = metrics.optimal_discriminator(left, right)[x.abs() < 0.5]  # both densities 0: D* is set to 1/2
    torch.testing.assert_close(gap, torch.full_like(gap, 0.5))
    # KL between Gaussians: log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
    kl = math.log(1.5) + (1 + 1) / (2 * 1.5**2) - 0.5
    torch.testing.assert_close(metrics.kl_on_grid(p, q, dx), torch.tensor(kl, dtype=torch.float32), atol=1e-5, rtol=0)


def test_d_on_grid_rows_follow_y():
    surface = metrics.d_on_grid(lambda pts: pts[:, 1] * 10 + pts[:, 0], extent=(-1, 1, -2, 2), resolution=5)
    assert surface.shape == (5, 5)
    torch.testing.assert_close(surface[0, 0], torch.tensor(-21.0))  # (x, y) = (-1, -2)
    torch.testing.assert_close(surface[4, 0], torch.tensor(19.0))  # (x, y) = (-1, 2)


def test_d_on_grid_scores_each_point_as_a_pack_of_copies_for_a_packed_d():
    from course_lib import models

    torch.manual_seed(0)
    D = models.mlp_discriminator(2, hidden=8, depth=1, pack=3)
    surface = metrics.d_on_grid(D, extent=(-1, 1, -2, 2), resolution=5, pack=3)
    corner = torch.tensor([[-1.0, -2.0]]).repeat(3, 1)  # (x, y) = (-1, -2), three times
    torch.testing.assert_close(surface[0, 0], D(corner)[0].detach())
    with pytest.raises(ValueError, match="divisible by the pack size 3"):
        metrics.d_on_grid(D, extent=(-1, 1, -2, 2), resolution=5)


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="same grid"):
        metrics.jsd_on_grid(torch.ones(3), torch.ones(4), 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.kl_on_grid(-torch.ones(3), torch.ones(3), 0.1)
    with pytest.raises(ValueError, match="probabilities"):
        metrics.minimax_value_on_grid(torch.full((3,), 2.0), torch.ones(3), torch.ones(3), 0.1)
    with pytest.raises(ValueError, match="dim 3"):
        metrics.mode_counts(torch.zeros(4, 3), RING)
    with pytest.raises(TypeError, match="p_g"):
        metrics.optimal_discriminator(torch.ones(3), [1.0, 1.0, 1.0])


# --------------------------------------------------------------------------------------------------
# Image metrics on feature sets
# --------------------------------------------------------------------------------------------------
def test_fid_of_identical_sets_is_zero_and_matches_the_gaussian_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    assert metrics.fid(a, a) == pytest.approx(0.0, abs=1e-6)
    # N(0, I) vs N(mu, diag(s^2)): FID = |mu|^2 + sum (1 - s)^2, here with the sample's own moments
    mu, s = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([1.0, 2.0, 0.5])
    b = torch.randn(4000, 3, generator=g, dtype=torch.float64) * s + mu
    ca, cb = torch.cov(a.T), torch.cov(b.T)
    ev = torch.linalg.eigvals(ca @ cb).real.clamp(min=0)  # Tr sqrt(A B) = sum sqrt(eig(A B))
    expected = (a.mean(0) - b.mean(0)).pow(2).sum() + ca.trace() + cb.trace() - 2 * ev.sqrt().sum()
    assert metrics.fid(a, b) == pytest.approx(float(expected), rel=1e-6)
    assert metrics.fid(a, b) == pytest.approx(1 + 4 + 0.25 + 0 + 1 + 0.25, rel=0.05)  # the population value


def test_kid_is_unbiased_for_the_same_distribution_and_positive_otherwise():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(1000, 8, generator=g), torch.randn(1000, 8, generator=g)
    mean, std = metrics.kid(a, b, subsets=30, subset_size=300, generator=g)
    assert abs(mean) < 3 * std / 30**0.5 + 1e-3
    shifted, _ = metrics.kid(a, b + 1.0, subsets=10, subset_size=300, generator=g)
    assert shifted > 0.1


def test_precision_recall_on_constructed_sets():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(500, 2, generator=g)
    same = metrics.precision_recall(real, torch.randn(500, 2, generator=g), k=5)
    assert same["precision"] > 0.9 and same["recall"] > 0.9 and 0.7 < same["density"] < 1.3 and same["coverage"] > 0.9
    # fakes far away: nothing is realistic and nothing of the data is covered
    far = metrics.precision_recall(real, torch.randn(500, 2, generator=g) + 20, k=5)
    assert far["precision"] == 0 and far["recall"] == 0 and far["coverage"] == 0
    # mode dropping: fakes only from the right half -> precision stays high, recall and coverage fall
    half = real[real[:, 0] > 0]
    dropped = metrics.precision_recall(real, half + 0.01 * torch.randn(half.shape, generator=g), k=5)
    assert dropped["precision"] > 0.9 and dropped["recall"] < 0.7 and dropped["coverage"] < 0.7


def test_distance_in_radii_gives_the_precision_and_how_far_each_fake_misses():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(400, 3, generator=g)
    fake = torch.cat([torch.randn(300, 3, generator=g), torch.randn(100, 3, generator=g) + 6])  # 100 far away
    m = metrics.distance_in_radii(real, fake, k=3)
    assert m.shape == (400,) and (m >= 0).all()
    assert float((m <= 1).mean()) == metrics.precision_recall(real, fake, k=3)["precision"]
    assert m[300:].min() > 1.5 and float((m[:300] <= 1).mean()) > 0.8  # the far fakes miss by far; the rest mostly land
    # by hand, for one fake: the smallest distance / radius over the real points
    radii = torch.cdist(real.double(), real.double()).kthvalue(4, dim=1).values
    by_hand = (torch.cdist(fake[:1].double(), real.double())[0] / radii).min()
    assert m[0] == pytest.approx(float(by_hand), rel=1e-12)
    # in units of the radii: scaling every feature changes nothing
    assert metrics.distance_in_radii(real * 7, fake * 7, k=3) == pytest.approx(m, rel=1e-6)  # float32 inputs
    # a fake on a real point is at 0; a point with k = 3 more copies has a ball of radius 0, holding only that point
    # (all-zero copies: cdist's matrix-multiply path is exact there)
    dup = torch.cat([torch.zeros(4, 3), torch.randn(20, 3, generator=g) + 3])
    on, off = metrics.distance_in_radii(dup, torch.stack([torch.zeros(3), torch.full((3,), 0.01)]), k=3)
    assert on == 0 and off > 1 and math.isfinite(off)
    with pytest.raises(ValueError, match="differ in width"):
        metrics.distance_in_radii(real, torch.zeros(10, 4))
    with pytest.raises(ValueError, match="k must be an int >= 1 and <= 399"):
        metrics.distance_in_radii(real, fake, k=400)


def test_tone_histogram_and_total_variation():
    h = metrics.tone_histogram([1.2, 1.4, 9.6, 10.0])
    assert h.shape == (10,) and h[0] == 0.5 and h[9] == 0.5
    assert metrics.total_variation(h, h) == 0 and metrics.total_variation([1, 0], [0, 1]) == 1
    with pytest.raises(ValueError, match="same shape"):
        metrics.total_variation([1, 0], [1, 0, 0])


def test_image_metrics_name_bad_input():
    with pytest.raises(ValueError, match=r"real must be a 2-D array \(N, D\) with N >= 2 rows, got shape \(10,\)"):
        metrics.fid(torch.zeros(10), torch.zeros(10))
    with pytest.raises(ValueError, match="differ in width"):
        metrics.precision_recall(torch.zeros(10, 3), torch.zeros(10, 4))
    with pytest.raises(ValueError, match=r"k must be an int >= 1 and <= 9, got 10"):
        metrics.precision_recall(torch.randn(10, 3), torch.randn(10, 3), k=10)


# --------------------------------------------------------------------------------------------------
# Conditional generation: obedience and identity drift
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped_encoder():
    from course_lib import encoder

    return encoder.load_shipped().model


def test_lip_colour_error_is_small_on_real_renders_of_the_shade(shipped_encoder):
    from course_lib import faces, makeup

    ids = [p[0] for p in faces.sample_faces(3, range(12), makeup=False)]
    plum = makeup.MakeupStyle(lipstick="plum", lip_opacity=1.0)
    err = metrics.lip_colour_error(shipped_encoder, faces.render(ids, plum, size=64).images, makeup.shade("plum", "lipstick"))
    wrong = metrics.lip_colour_error(shipped_encoder, faces.render(ids, plum, size=64).images, makeup.shade("orange", "lipstick"))
    assert err.shape == (12,) and err.mean() < 4 and wrong.mean() > 3 * err.mean()


def test_identity_drift_is_zero_for_the_same_faces_and_one_between_the_sets(shipped_encoder):
    from course_lib import faces

    a = faces.render_indices(range(10), seed=1, size=64, makeup=False).images
    b = faces.render_indices(range(10, 20), seed=1, size=64, makeup=False).images
    same = metrics.identity_drift(shipped_encoder, a, a, b)
    assert same["style_only_change"] == 0 and same["ratio"] == 0
    assert metrics.identity_drift(shipped_encoder, a, b, b)["ratio"] == pytest.approx(1.0)


def test_lipstick_requests_cycle_through_the_catalogue():
    from course_lib import makeup

    styles, wanted = metrics.lipstick_requests(26, seed=0)
    names = list(makeup.CATALOGUE["lipstick"])
    assert len(styles) == 26 and wanted.shape == (26, 3)
    assert styles[0].lipstick == makeup.shade(names[0], "lipstick") == tuple(wanted[13])
    assert all(s.lip_opacity == 1.0 for s in styles)


class RenderingG(torch.nn.Module):
    """A 'generator' that renders exactly what it is asked for: person = f(z), look = the condition.

    ``obey=False`` ignores the requested look (draws every face with the same plum lipstick)."""

    z_dim, cond_dim, size = 8, 15, 64

    def __init__(self, obey: bool = True):
        super().__init__()
        self.obey = obey
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # generate() asks G for its device

    def forward(self, z, cond):
        from course_lib import faces, makeup

        people = [faces.sample_faces(0, [int(abs(float(zi[0])) * 1e6) % 100_000], makeup=False)[0][0] for zi in z]
        looks = [makeup.MakeupStyle.from_vector(c.numpy()) if self.obey else makeup.MakeupStyle(lipstick="plum") for c in cond]
        return faces.render(people, looks, size=self.size).images


def test_obedience_report_tells_an_obedient_generator_from_one_that_ignores_the_request(shipped_encoder):
    good = metrics.obedience_report(shipped_encoder, RenderingG(obey=True), n=39, seed=2)
    bad = metrics.obedience_report(shipped_encoder, RenderingG(obey=False), n=39, seed=2)
    # renders of the request score like the floor (other people, same looks) and beat every baseline
    assert good["lips_dE2000"] < 1.5 * good["lips_dE2000_floor"] + 1
    assert good["lips_dE2000"] < 0.5 * good["lips_dE2000_mean_shade"]
    # the person is a function of z only: what drift remains is the read-out's own, as on real renders
    assert abs(good["identity_drift_ratio"] - good["identity_drift_ratio_floor"]) < 0.1
    # ignoring the request is caught: no better than guessing the average shade
    assert bad["lips_dE2000"] > good["lips_dE2000_mean_shade"] * 0.8 and bad["lips_dE2000"] > 2 * good["lips_dE2000"]


def test_feature_scores_can_use_a_fid_and_precision_recall_of_ones_own():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(200, 4, generator=g), torch.randn(200, 4, generator=g) + 0.5
    library = metrics.feature_scores(real, fake, kid_subset_size=100, generator=torch.Generator().manual_seed(1))
    calls = []

    def my_fid(r, f):
        calls.append("fid")
        return metrics.fid(r, f)

    def my_pr(r, f, k):
        calls.append("pr")
        s = metrics.precision_recall(r, f, k=k)
        return s["precision"], s["recall"]

    mine = metrics.feature_scores(real, fake, kid_subset_size=100, generator=torch.Generator().manual_seed(1),
                                  fid_fn=my_fid, pr_fn=my_pr)
    assert calls == ["pr", "fid"] and mine == pytest.approx(library)
    with pytest.raises(ValueError, match="fid_fn's result must be a finite number"):
        metrics.feature_scores(real, fake, kid_subset_size=100, fid_fn=lambda r, f: float("nan"))
    with pytest.raises(ValueError, match=r"pr_fn's recall must be a finite number in \[0, 1\]"):
        metrics.feature_scores(real, fake, kid_subset_size=100, pr_fn=lambda r, f, k: (0.5, 1.5))


def test_face_report_takes_images_or_their_read_outs_alike(shipped_encoder):
    from course_lib import encoder

    real = data.face_batches(60, size=32, seed=9000, makeup=0.5)(0)
    fake = data.face_batches(60, size=32, seed=9500, makeup=0.5)(0).flip(-1)
    from_images = metrics.face_report(shipped_encoder, real, fake)
    read_real = encoder.read_out(shipped_encoder, real)
    assert metrics.face_report(shipped_encoder, read_real, encoder.read_out(shipped_encoder, fake)) == from_images
    assert metrics.face_report(shipped_encoder, read_real, fake) == from_images
    with pytest.raises(ValueError, match="real must be images or an encoder.read_out result"):
        metrics.face_report(shipped_encoder, {"tone": read_real["tone"]}, fake)
