"""Did the conditional GAN obey? Colour read-outs against the requested style, and identity drift.

Both are measured with the domain encoder, so no masks are needed on generated faces.
Taught in 04_conditional_gan, section 5.
"""
from __future__ import annotations

import numpy as np
import torch

from course_lib import colour


def lip_colour_error(enc, images: torch.Tensor, requested_rgb) -> np.ndarray:
    """Per-image CIEDE2000 between the lipstick shade the encoder reads and the requested sRGB colour(s).

    The encoder's shade head reads the product's colour, with the face's lighting and gloss taken out
    (the mean colour of the lip pixels would still carry them: several dE away from the shade even on a
    perfect render). ``requested_rgb``: (3,) for all images or (N, 3). About 1 is a just-noticeable difference.
    Taught in 04_conditional_gan, section 7.
    """
    from course_lib import encoder

    got = encoder.read_out(enc, images)["lipstick_rgb"]
    want = np.broadcast_to(np.asarray(requested_rgb, dtype=np.float64), got.shape)
    return colour.delta_e2000(got, want)


def identity_features(enc, images: torch.Tensor) -> np.ndarray:
    """Who is it, ignoring makeup: the encoder's skin tone (scaled to [0, 1]) and face geometry read-outs, (N, 13).

    Not in the notebooks: behind the metrics the notebooks call.
    """
    from course_lib import encoder

    ro = encoder.read_out(enc, images)
    return np.concatenate([((ro["tone"] - 1) / 9)[:, None], ro["geometry"]], axis=1)


def identity_drift(enc, same_person_a: torch.Tensor, same_person_b: torch.Tensor,
                   other_people: torch.Tensor) -> dict[str, float]:
    """How far identity moves when only the style changes, next to the distance between two random people.

    ``same_person_a[i]`` and ``same_person_b[i]`` share noise z but differ in style; ``other_people[i]`` is
    ``same_person_a[i]``'s style on another z. Returns mean distances and their ratio (0 = identity kept,
    1 = as different as two random people).
    Not in the notebooks: behind the metrics the notebooks call.
    """
    fa, fb, fo = (identity_features(enc, x) for x in (same_person_a, same_person_b, other_people))
    drift = float(np.linalg.norm(fa - fb, axis=1).mean())
    between = float(np.linalg.norm(fa - fo, axis=1).mean())
    return {"style_only_change": round(drift, 4), "two_random_identities": round(between, 4),
            "ratio": round(drift / max(between, 1e-9), 4)}


def lipstick_requests(n: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """``n`` styles that cycle through the catalogue's lipsticks at full opacity (other products drawn at
    random), and the requested lip colours (n, 3). Used to test a conditional G's obedience.
    Taught in 04_conditional_gan, section 7."""
    from course_lib import faces, makeup

    names = list(makeup.CATALOGUE["lipstick"])
    styles, wanted = [], []
    draws = faces.face_uniforms(seed, range(n), n=faces.identity.N_MAKEUP_DRAWS)
    for i, r in enumerate(draws):
        base = faces.makeup_from_uniforms(r, p_wear=1.0)
        shade = makeup.shade(names[i % len(names)], "lipstick")
        styles.append(makeup.MakeupStyle(**{**base.as_dict(), "lipstick": shade, "lip_opacity": 1.0, "finish": "satin"}))
        wanted.append(shade)
    return styles, np.asarray(wanted)


def obedience_report(enc, G, n: int = 1000, seed: int = 0, device=None) -> dict[str, float]:
    """Measure a conditional G's lip colour against the request, beside two baselines, and its identity drift.

    - ``lips_dE2000``: requested shade vs the lipstick shade the encoder reads on G(z, c);
    - ``lips_dE2000_zeroed``: the same request, but G is given c with the lipstick switched off (what G
      produces without being told): conditioning must beat it clearly;
    - ``lips_dE2000_mean_shade``: always answering the average requested colour (a G that ignores the
      request but paints a sensible lipstick): conditioning must beat it too. Unlike the zeroed baseline it
      needs no read-out of bare lips, where the shade head was never trained;
    - ``lips_dE2000_floor``: real renders of those styles, read by the same encoder (renderer + encoder error);
    - identity drift: same z, another style, against two random identities with the same style;
      ``identity_drift_ratio_floor`` is the same ratio for real renders (same person, another look), i.e.
      how much the encoder's identity read-out moves with makeup alone.
    Taught in 04_conditional_gan, section 7.
    """
    from course_lib import faces, makeup, train

    styles, wanted = lipstick_requests(n, seed)
    cond = torch.from_numpy(np.stack([s.to_vector() for s in styles]))
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    fake = train.generate(G, z=z, cond=cond, device=device)
    zeroed = cond.clone()
    zeroed[:, makeup.COLOUR_SLICE["lipstick"]] = 0  # lipstick colour and opacity off
    zeroed[:, makeup.OPACITY_INDEX["lipstick"]] = 0
    fake_zeroed = train.generate(G, z=z, cond=zeroed, device=device)
    identities = [p[0] for p in faces.sample_faces(seed + 1, range(n), makeup=False)]
    real = faces.render(identities, styles, size=G.size).images
    other_style = cond.roll(1, dims=0)  # the next request's style on the same z
    other_z = z.roll(1, dims=0)
    drift = identity_drift(enc, fake, train.generate(G, z=z, cond=other_style, device=device),
                           train.generate(G, z=other_z, cond=cond, device=device))
    others = [p[0] for p in faces.sample_faces(seed + 2, range(n), makeup=False)]
    drift_floor = identity_drift(enc, real, faces.render(identities, styles[-1:] + styles[:-1], size=G.size).images,
                                 faces.render(others, styles, size=G.size).images)
    err = lip_colour_error(enc, fake, wanted)
    return {
        "lips_dE2000": round(float(err.mean()), 3),
        "lips_dE2000_median": round(float(np.median(err)), 3),
        "lips_dE2000_zeroed": round(float(lip_colour_error(enc, fake_zeroed, wanted).mean()), 3),
        "lips_dE2000_mean_shade": round(float(colour.delta_e2000(np.broadcast_to(wanted.mean(0), wanted.shape), wanted).mean()), 3),
        "lips_dE2000_floor": round(float(lip_colour_error(enc, real, wanted).mean()), 3),
        "identity_drift_ratio": drift["ratio"],
        "identity_drift_ratio_floor": drift_floor["ratio"],
        "identity_drift": drift["style_only_change"],
        "identity_between_people": drift["two_random_identities"],
        "n_samples": n,
    }
