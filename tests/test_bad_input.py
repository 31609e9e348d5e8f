"""Bad input gets a clear error naming the argument: NaN and inf, wrong types, wrong shapes, out-of-range numbers.

Each case names the call, the error type and a pattern the message must match (the argument's name and what was
wrong). NaN matters most: a range check such as ``x.min() < 0`` is False for NaN, so without an explicit check a
NaN pixel or feature comes out as an all-NaN image or a metric of nan. Configs (``tests/train/test_loop.py``) and
checkpoints (``test_checkpoints``) have their own cases.
"""
import math
import os

import numpy as np
import pytest
import torch

from course_lib import data, faces, landmarks, makeup, metrics, models, train, tryon, validate, viz

NAN, INF = float("nan"), float("inf")


def _with(value, at=(0, 0), shape=(20, 4), seed=0):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    x[at] = value
    return x


REAL, FAKE = _with(0.0), _with(0.0, seed=1)  # clean features


def _img(value=None, shape=(2, 3, 16, 16)):
    x = torch.zeros(shape)
    if value is not None:
        x.view(-1)[5] = value
    return x


def _arr(value=None, shape=(16, 16, 3)):
    x = np.full(shape, 0.5, dtype=np.float32)
    if value is not None:
        x.reshape(-1)[7] = value
    return x


def _masks(value=None):
    m = np.zeros((16, 16), dtype=np.float32)
    m[4:8, 4:8] = 1.0
    if value is not None:
        m[0, 0] = value
    return {"lips": m}


def _triplets(tone=5.0):
    masks = {k: torch.zeros(2, 1, 16, 16) for k in ("lips", "eyeshadow", "cheeks", "liner")}
    masks["lips"][:, :, 4:8, 4:8] = 1
    return {"target": _img(), "masks": masks, "tone": torch.tensor([tone, 3.0])}


def _cgan():
    return models.ConditionalGenerator(z_dim=8, cond_dim=15, size=32, width=4)


def _cond(value):
    c = torch.full((2, 15), 0.5)
    c[1, 3] = value
    return c


STYLE = makeup.MakeupStyle(lipstick="coral")

CASES = {
    # ---- metrics on feature arrays: NaN / inf rows, shapes, types, k ----
    "precision_recall NaN in real": (lambda: metrics.precision_recall(_with(NAN), FAKE), ValueError, r"real holds 1 NaN value\(s\) of 80 \(first at index \(0, 0\)\)"),
    "precision_recall inf in fake": (lambda: metrics.precision_recall(REAL, _with(INF, (3, 2))), ValueError, r"fake holds 1 inf .*index \(3, 2\)"),
    "precision_recall -inf in fake": (lambda: metrics.precision_recall(REAL, _with(-INF)), ValueError, "fake holds 1 inf"),
    "precision_recall 1-D real": (lambda: metrics.precision_recall(torch.zeros(20), FAKE), ValueError, r"real must be a 2-D array \(N, D\)"),
    "precision_recall one row": (lambda: metrics.precision_recall(torch.zeros(1, 4), FAKE), ValueError, "real must be a 2-D array .* N >= 2 rows, got shape \\(1, 4\\)"),
    "precision_recall widths": (lambda: metrics.precision_recall(REAL, torch.zeros(20, 5)), ValueError, "differ in width: 4 vs 5"),
    "precision_recall string": (lambda: metrics.precision_recall("real.npy", FAKE), TypeError, "real must be a 2-D array or tensor"),
    "precision_recall None": (lambda: metrics.precision_recall(REAL, None), TypeError, "fake must be a 2-D array or tensor"),
    "precision_recall k float": (lambda: metrics.precision_recall(REAL, FAKE, k=3.0), TypeError, r"k must be an int >= 1 and <= 19, got 3.0 \(float\)"),
    "precision_recall k bool": (lambda: metrics.precision_recall(REAL, FAKE, k=True), TypeError, "k must be an int"),
    "precision_recall k 0": (lambda: metrics.precision_recall(REAL, FAKE, k=0), ValueError, "k must be an int >= 1 and <= 19, got 0"),
    "precision_recall k too big": (lambda: metrics.precision_recall(REAL, FAKE, k=20), ValueError, "k must be an int >= 1 and <= 19, got 20"),
    "precision_recall k string": (lambda: metrics.precision_recall(REAL, FAKE, k="3"), TypeError, "k must be an int"),
    "fid NaN in real": (lambda: metrics.fid(_with(NAN), FAKE), ValueError, "real holds 1 NaN"),
    "fid inf in fake": (lambda: metrics.fid(REAL, _with(INF)), ValueError, "fake holds 1 inf"),
    "fid widths": (lambda: metrics.fid(REAL, torch.zeros(20, 3)), ValueError, "differ in width"),
    "fid 3-D": (lambda: metrics.fid(torch.zeros(4, 4, 4), FAKE), ValueError, "real must be a 2-D array"),
    "fid numpy NaN": (lambda: metrics.fid(_with(NAN).numpy(), FAKE.numpy()), ValueError, "real holds 1 NaN"),
    "kid NaN": (lambda: metrics.kid(_with(NAN), FAKE, subsets=2, subset_size=10), ValueError, "real holds 1 NaN"),
    "kid widths": (lambda: metrics.kid(REAL, torch.zeros(20, 3), subsets=2), ValueError, "differ in width"),
    "kid subsets 0": (lambda: metrics.kid(REAL, FAKE, subsets=0), ValueError, "subsets must be an int >= 1, got 0"),
    "kid subsets float": (lambda: metrics.kid(REAL, FAKE, subsets=2.5), TypeError, "subsets must be an int"),
    "kid subset_size 1": (lambda: metrics.kid(REAL, FAKE, subset_size=1), ValueError, "subset_size must be an int >= 2"),
    "distance_in_radii NaN": (lambda: metrics.distance_in_radii(REAL, _with(NAN)), ValueError, "fake holds 1 NaN"),
    "distance_in_radii k float": (lambda: metrics.distance_in_radii(REAL, FAKE, k=3.0), TypeError, "k must be an int"),
    "coverage_by_group NaN": (lambda: metrics.coverage_by_group(_with(NAN), FAKE, ["a"] * 20), ValueError, "real holds 1 NaN"),
    "coverage_by_group labels": (lambda: metrics.coverage_by_group(REAL, FAKE, ["a"] * 19), ValueError, "groups must hold one label per real point"),
    "coverage_by_group k": (lambda: metrics.coverage_by_group(REAL, FAKE, ["a"] * 20, k=2.0), TypeError, "k must be an int"),
    "coverage_by_group widths": (lambda: metrics.coverage_by_group(REAL, torch.zeros(20, 3), ["a"] * 20), ValueError, "differ in width"),
    "feature_scores NaN": (lambda: metrics.feature_scores(REAL, _with(NAN)), ValueError, "fake holds 1 NaN"),
    "noise_floor inf": (lambda: metrics.noise_floor(_with(INF), FAKE), ValueError, "holds 1 inf"),
    # ---- distributions and tones ----
    "tone_histogram NaN": (lambda: metrics.tone_histogram([3.0, NAN, 5.0]), ValueError, r"tones holds 1 NaN .*index \(1,\)"),
    "tone_histogram inf": (lambda: metrics.tone_histogram([INF, 2.0]), ValueError, "tones holds 1 inf"),
    "tone_histogram 2-D": (lambda: metrics.tone_histogram([[1, 2], [3, 4]]), ValueError, "tones must be a 1-D array"),
    "tone_histogram strings": (lambda: metrics.tone_histogram(["light", "deep"]), TypeError, "tones must be an array of Monk tones"),
    "tone_histogram bins 0": (lambda: metrics.tone_histogram([1, 2], bins=0), ValueError, "bins must be an int >= 1"),
    "tone_histogram bins float": (lambda: metrics.tone_histogram([1, 2], bins=10.0), TypeError, "bins must be an int"),
    "total_variation NaN": (lambda: metrics.total_variation([0.5, NAN], [0.5, 0.5]), ValueError, "p holds 1 NaN"),
    "total_variation inf": (lambda: metrics.total_variation([0.5, 0.5], [INF, 0.5]), ValueError, "q holds 1 inf"),
    "total_variation negative": (lambda: metrics.total_variation([1.5, -0.5], [0.5, 0.5]), ValueError, "p must hold non-negative weights"),
    "total_variation all zero": (lambda: metrics.total_variation([0, 0], [0.5, 0.5]), ValueError, "p must hold non-negative weights with a positive sum"),
    "total_variation 2-D": (lambda: metrics.total_variation([[0.5, 0.5]], [0.5, 0.5]), ValueError, "p must be a non-empty 1-D array"),
    "total_variation empty": (lambda: metrics.total_variation([], []), ValueError, "p must be a non-empty 1-D array"),
    "total_variation shapes": (lambda: metrics.total_variation([1, 0], [1, 0, 0]), ValueError, "same shape"),
    "total_variation strings": (lambda: metrics.total_variation(["a", "b"], [1, 1]), TypeError, "p must be a 1-D array of non-negative numbers"),
    "verdict NaN": (lambda: metrics.verdict(NAN, 0.5, 0.1), ValueError, "a must be a finite number, got nan"),
    "verdict inf b": (lambda: metrics.verdict(0.5, INF, 0.1), ValueError, "b must be a finite number, got inf"),
    "verdict margin NaN": (lambda: metrics.verdict(0.5, 0.5, NAN), ValueError, "margin must be a finite number >= 0"),
    "verdict margin negative": (lambda: metrics.verdict(0.5, 0.5, -0.1), ValueError, "margin must be a finite number >= 0"),
    "verdict string": (lambda: metrics.verdict("0.5", 0.5, 0.1), TypeError, "a must be a number"),
    # ---- transfer metrics ----
    "transfer_scores NaN output": (lambda: metrics.transfer_scores(_img(NAN), _triplets()), ValueError, "output holds 1 NaN"),
    "transfer_scores inf output": (lambda: metrics.transfer_scores(_img(INF), _triplets()), ValueError, "output holds 1 inf"),
    "transfer_scores NaN numpy output": (lambda: metrics.transfer_scores(_arr(NAN, (2, 16, 16, 3)), _triplets()), ValueError, "output holds 1 NaN"),
    "transfer_scores NaN tone": (lambda: metrics.transfer_scores(_img(), _triplets(tone=NAN)), ValueError, r"triplets\['tone'\] holds 1 NaN"),
    "transfer_scores missing key": (lambda: metrics.transfer_scores(_img(), {"target": _img()}), ValueError, "missing key 'masks'"),
    "transfer_scores count": (lambda: metrics.transfer_scores(_img(shape=(3, 3, 16, 16)), _triplets()), ValueError, "output has 3 images, expected 2"),
    "region_delta_e NaN mask": (lambda: metrics.region_delta_e(_img(), _img(), {"lips": torch.full((2, 16, 16), NAN)}, regions=("lips",)), ValueError, r"masks\['lips'\] holds 512 NaN"),
    "region_delta_e no region": (lambda: metrics.region_delta_e(_img(), _img(), {}, regions=("lips",)), ValueError, "masks has no 'lips' region"),
    # ---- images and masks for the makeup layer model ----
    "apply_makeup NaN tensor": (lambda: makeup.apply_makeup(_img(NAN), _masks(), STYLE), ValueError, "image holds 1 NaN"),
    "apply_makeup inf tensor": (lambda: makeup.apply_makeup(_img(INF), _masks(), STYLE), ValueError, "image holds 1 inf"),
    "apply_makeup NaN array": (lambda: makeup.apply_makeup(_arr(NAN), _masks(), STYLE), ValueError, r"image holds 1 NaN value\(s\) of 768 \(first at index \(0, 2, 1\)\)"),
    "apply_makeup out of range array": (lambda: makeup.apply_makeup(_arr(2.0), _masks(), STYLE), ValueError, r"image as a float array must lie in \[0, 1\]"),
    "apply_makeup out of range tensor": (lambda: makeup.apply_makeup(_img(3.0), _masks(), STYLE), ValueError, r"image as a tensor must lie in \[-1, 1\]"),
    "apply_makeup int array": (lambda: makeup.apply_makeup(np.zeros((16, 16, 3), dtype=np.int64), _masks(), STYLE), TypeError, "image must be a float array in"),
    "apply_makeup 2 channels": (lambda: makeup.apply_makeup(_arr(shape=(16, 16, 2)), _masks(), STYLE), ValueError, r"image must have shape \(H, W, 3\)"),
    "apply_makeup 1-channel tensor": (lambda: makeup.apply_makeup(_img(shape=(1, 1, 16, 16)), _masks(), STYLE), ValueError, r"image as a tensor must have shape \(B, 3, H, W\)"),
    "apply_makeup NaN mask": (lambda: makeup.apply_makeup(_arr(), _masks(NAN), STYLE), ValueError, r"masks\['lips'\] holds 1 NaN"),
    "apply_makeup inf mask": (lambda: makeup.apply_makeup(_arr(), _masks(INF), STYLE), ValueError, r"masks\['lips'\] holds 1 inf"),
    "apply_makeup mask range": (lambda: makeup.apply_makeup(_arr(), _masks(2.0), STYLE), ValueError, r"masks\['lips'\] must hold values in \[0, 1\]"),
    "apply_makeup mask shape": (lambda: makeup.apply_makeup(_arr(), {"lips": np.zeros((8, 8))}, STYLE), ValueError, r"masks\['lips'\] must have shape"),
    "apply_makeup missing mask": (lambda: makeup.apply_makeup(_arr(), {}, STYLE), ValueError, "masks has no 'lips' region"),
    "apply_makeup intensity NaN": (lambda: makeup.apply_makeup(_arr(), _masks(), STYLE, intensity=NAN), ValueError, r"intensity must be a number in \[0, 1\]"),
    "apply_makeup intensity 2": (lambda: makeup.apply_makeup(_arr(), _masks(), STYLE, intensity=2.0), ValueError, "intensity must be a number"),
    "apply_makeup style string": (lambda: makeup.apply_makeup(_arr(), _masks(), "coral"), TypeError, "style must be a MakeupStyle"),
    # ---- style vectors fed to a conditional generator ----
    "conditional G NaN cond": (lambda: _cgan()(torch.zeros(2, 8), torch.full((2, 15), NAN)), ValueError, "cond holds 30 NaN"),
    "conditional G inf cond": (lambda: _cgan()(torch.zeros(2, 8), _cond(INF)), ValueError, r"cond holds 1 inf value\(s\) of 30 \(first at index \(1, 3\)\)"),
    "conditional G cond range": (lambda: _cgan()(torch.zeros(2, 8), torch.full((2, 15), 2.0)), ValueError, r"cond holds style vectors with values in \[0, 1\]"),
    "conditional G cond shape": (lambda: _cgan()(torch.zeros(2, 8), torch.zeros(2, 14)), ValueError, r"cond must be a tensor of shape \(2, 15\)"),
    # ---- the helpers themselves ----
    "integer float": (lambda: validate.integer(2.0, "steps"), TypeError, r"steps must be an int, got 2.0 \(float\)"),
    "integer numpy float": (lambda: validate.integer(np.float32(2), "steps"), TypeError, "steps must be an int"),
    "integer low": (lambda: validate.integer(-1, "seed", 0), ValueError, "seed must be an int >= 0, got -1"),
    "integer high": (lambda: validate.integer(11, "tone", 1, 10), ValueError, "tone must be an int >= 1 and <= 10, got 11"),
    "number string": (lambda: validate.number("0.5", "intensity", 0, 1), TypeError, r"intensity must be a number in \[0, 1\], got '0.5' \(str\)"),
    "number NaN": (lambda: validate.number(NAN, "lr", 0), ValueError, "lr must be a finite number >= 0, got nan"),
    "number high": (lambda: validate.number(1.5, "alpha", high=1.0), ValueError, "alpha must be a finite number <= 1, got 1.5"),
    "number bool": (lambda: validate.number(True, "alpha"), TypeError, "alpha must be a number"),
    "finite scalar NaN": (lambda: validate.finite(NAN, "loss"), ValueError, r"loss holds 1 NaN value\(s\) of 1; every value"),
    "finite NaN and inf": (lambda: validate.finite(torch.tensor([NAN, INF, 1.0]), "x"), ValueError, r"x holds 1 NaN and 1 inf value\(s\) of 3 \(first at index \(0,\)\)"),
}


_NETS = []


def _nets():  # untrained networks: the checks run before any network does
    if not _NETS:
        _NETS.append(tryon.TryOnModels(models.TryOnGenerator().eval(), models.StyleEncoder().eval(),
                                       models.ReferenceTransferGenerator().eval(), models.LayeredTransfer(fit_steps=5).eval()))
    return _NETS[0]


def _portrait():
    p = landmarks.load_portrait("astronaut")
    return p.image, p.landmarks


def _shade(image, **kw):
    return tryon.apply_shade(image, "coral", nets=_nets(), **kw)


FACE64 = torch.zeros(1, 3, 64, 64)
MASKS64 = {k: torch.full((1, 1, 64, 64), 0.5) for k in (*makeup.MAKEUP_MASKS, "skin")}
G32 = models.DCGANGenerator(size=32, width=4)

CASES.update({
    # ---- numbers of the wrong type are refused, not truncated ----
    "face_batches size float": (lambda: data.face_batches(4, size=64.0), TypeError, r"size must be an int, got 64.0 \(float\)"),
    "face_batches size 50": (lambda: data.face_batches(4, size=50), ValueError, "size must be one of 32, 64, 128, 256, got 50"),
    "face_batches seed str": (lambda: data.face_batches(4, seed="0"), TypeError, r"seed must be an int >= 0, got '0' \(str\)"),
    "face_batches seed negative": (lambda: data.face_batches(4, seed=-1), ValueError, "seed must be an int >= 0, got -1"),
    "face_batches batch 0": (lambda: data.face_batches(0), ValueError, "batch_size must be an int >= 1, got 0"),
    "face_batches batch float": (lambda: data.face_batches(2.5), TypeError, "batch_size must be an int"),
    "face_batches n 0": (lambda: data.face_batches(4, n=0), ValueError, "n must be an int >= 1, got 0"),
    "transfer_triplets n float": (lambda: data.transfer_triplets(2.0), TypeError, "n must be an int >= 1, got 2.0"),
    "transfer_triplets seed float": (lambda: data.transfer_triplets(2, seed=1.5), TypeError, "seed must be an int >= 0, got 1.5"),
    "transfer_triplets start negative": (lambda: data.transfer_triplets(2, start=-2), ValueError, "start must be an int >= 0"),
    "transfer_triplets size float": (lambda: data.transfer_triplets(2, size=64.0), TypeError, "size must be an int"),
    "SynthFaces n float": (lambda: data.SynthFaces(4.0), TypeError, "n must be an int >= 1"),
    "SynthFaces seed str": (lambda: data.SynthFaces(4, seed="1"), TypeError, "seed must be an int >= 0"),
    "SynthFaces index float": (lambda: data.SynthFaces(4, size=32)[2.0], TypeError, r"index must be an int, got 2.0"),
    "SynthFaces index out of range": (lambda: data.SynthFaces(4, size=32)[4], IndexError, "face index 4 out of range for 4 faces"),
    "sample_faces seed float": (lambda: faces.sample_faces(1.5, range(2)), TypeError, "seed must be an int >= 0 and <= 2147483647, got 1.5"),
    "sample_faces seed too big": (lambda: faces.sample_faces(2**31, range(2)), ValueError, "seed must be an int >= 0 and <= 2147483647"),
    "sample_faces float indices": (lambda: faces.sample_faces(0, [0.0, 2.7]), TypeError, "indices must be ints"),
    "render size float": (lambda: faces.render(faces.sample_faces(0, [0])[0][0], size=64.0), TypeError, "size must be an int"),
    "generate n float": (lambda: train.generate(G32, 2.5), TypeError, r"n must be an int >= 1, got 2.5 \(float\)"),
    "generate n str": (lambda: train.generate(G32, "3"), TypeError, "n must be an int >= 1"),
    "generate n 0": (lambda: train.generate(G32, 0), ValueError, "n must be an int >= 1, got 0"),
    "generate z NaN": (lambda: train.generate(G32, z=torch.full((2, 100), NAN)), ValueError, "z holds 200 NaN"),
    "generate z shape": (lambda: train.generate(G32, z=torch.zeros(2, 50)), ValueError, r"z must be a tensor \(N, 100\)"),
    "jacobian_truncation not a G": (lambda: train.jacobian_truncation("G", 4), TypeError, "G must be an unconditional generator"),
    "jacobian_truncation conditional G": (lambda: train.jacobian_truncation(_cgan(), 4), TypeError, "G must be an unconditional generator"),
    "jacobian_truncation n 0": (lambda: train.jacobian_truncation(G32, 0), ValueError, "n must be an int >= 1, got 0"),
    "jacobian_truncation keep 0": (lambda: train.jacobian_truncation(G32, 4, keep=0), ValueError, r"keep must be a finite number in \[0.01, 1\], got 0"),
    "jacobian_truncation keep 1.5": (lambda: train.jacobian_truncation(G32, 4, keep=1.5), ValueError, r"keep must be a finite number in \[0.01, 1\], got 1.5"),
    "jacobian_truncation keep NaN": (lambda: train.jacobian_truncation(G32, 4, keep=NAN), ValueError, "keep must be a finite number"),
    "jacobian_truncation keep str": (lambda: train.jacobian_truncation(G32, 4, keep="0.6"), TypeError, "keep must be a number"),
    "jacobian_truncation n float": (lambda: train.jacobian_truncation(G32, 2.5), TypeError, r"n must be an int >= 1, got 2.5"),
    "jacobian_truncation bins > half the draws": (lambda: train.jacobian_truncation(G32, 4, keep=0.6, bins=8), ValueError,
                                                   r"bins must be at most half the draws \(3 for n=4, keep=0.6\), got 8"),
    "jacobian_truncation generator": (lambda: train.jacobian_truncation(G32, 4, generator=7), TypeError,
                                      "generator must be None or a CPU torch.Generator"),
    "jacobian_truncation bins -1": (lambda: train.jacobian_truncation(G32, 4, bins=-1), ValueError, "bins must be an int >= 0, got -1"),
    "jacobian_truncation probes 0": (lambda: train.jacobian_truncation(G32, 4, probes=0), ValueError, "probes must be an int >= 1, got 0"),
    "jacobian_truncation eps 0": (lambda: train.jacobian_truncation(G32, 4, eps=0.0), ValueError, r"eps must be a finite number in \[1e-06, 1\], got 0.0"),
    "standing_statistics not a G": (lambda: train.standing_statistics("G"), TypeError, "G must be a generator"),
    "standing_statistics conditional G without cond": (lambda: train.standing_statistics(_cgan()), ValueError,
                                                       r"conditional: cond must be a tensor \(N, 15\)"),
    "standing_statistics cond shape": (lambda: train.standing_statistics(_cgan(), cond=torch.zeros(4, 14)), ValueError,
                                       r"cond must be a tensor \(N, 15\) of condition vectors, got \(4, 14\)"),
    "standing_statistics cond NaN": (lambda: train.standing_statistics(_cgan(), cond=torch.full((4, 15), NAN)), ValueError,
                                     "cond holds 60 NaN"),
    "standing_statistics cond for unconditional": (lambda: train.standing_statistics(G32, cond=torch.zeros(4, 15)), ValueError,
                                                   "cond is only for a conditional generator"),
    "standing_statistics batches 0": (lambda: train.standing_statistics(G32, batches=0), ValueError, "batches must be an int >= 1, got 0"),
    "standing_statistics batch_size 1": (lambda: train.standing_statistics(G32, batch_size=1), ValueError, "batch_size must be an int >= 2"),
    "standing_statistics batches float": (lambda: train.standing_statistics(G32, batches=2.5), TypeError, "batches must be an int"),
    "standing_statistics no batch norm": (lambda: train.standing_statistics(models.DCGANGenerator(size=32, width=4, norm="pixel")),
                                          ValueError, "has no batch-norm layer"),
    # ---- try-on: images, references, switches ----
    "apply_shade NaN tensor": (lambda: _shade(_img(NAN, (1, 3, 64, 64))), ValueError, "image holds 1 NaN"),
    "apply_shade inf array": (lambda: _shade(_arr(INF, (64, 64, 3))), ValueError, "image holds 1 inf"),
    "apply_shade (H, W, 1)": (lambda: _shade(np.zeros((64, 64, 1), np.float32)), ValueError, r"image must have shape \(H, W, 3\).*got \(64, 64, 1\); pass a one-channel image as \(H, W\)"),
    "apply_shade (H, W, 2)": (lambda: _shade(np.zeros((64, 64, 2), np.float32)), ValueError, r"image must have shape \(H, W, 3\)"),
    "apply_shade tiny": (lambda: _shade(np.zeros((16, 16, 3), np.float32)), ValueError, "image is 16 x 16 pixels"),
    "apply_shade intensity str": (lambda: _shade(FACE64, intensity="0.5"), TypeError, r"intensity must be a number in \[0, 1\], got '0.5' \(str\)"),
    "apply_shade intensity NaN": (lambda: _shade(FACE64, intensity=NAN), ValueError, "intensity must be a finite number"),
    "apply_shade intensity negative": (lambda: _shade(FACE64, intensity=-0.1), ValueError, "intensity must be a finite number"),
    "apply_shade regions None": (lambda: _shade(FACE64, regions=None), TypeError, "regions must be a list of region names"),
    "apply_shade regions unknown": (lambda: _shade(FACE64, regions=("nose",)), ValueError, r"unknown region\(s\) \['nose'\]"),
    "apply_shade masks unknown": (lambda: _shade(FACE64, masks="magic"), ValueError, "masks must be one of"),
    "apply_shade shade NaN": (lambda: tryon.apply_shade(FACE64, (NAN, 0.2, 0.2), nets=_nets()), ValueError, "lipstick must be an sRGB triple"),
    "apply_shade finish": (lambda: tryon.apply_shade(FACE64, "coral", finish="shiny", nets=_nets()), ValueError, "finish"),
    "apply_shade unknown portrait": (lambda: _shade("mona_lisa"), ValueError, "unknown portrait 'mona_lisa'"),
    "apply_reference NaN reference": (lambda: tryon.apply_reference(FACE64, _img(NAN, (1, 3, 64, 64)), nets=_nets()), ValueError, "reference holds 1 NaN"),
    "apply_reference method": (lambda: tryon.apply_reference(FACE64, FACE64, method="psgan", nets=_nets()), ValueError, "method must be one of tryon, beautygan, layered, got 'psgan'"),
    # ---- the unpaired, layered transfer: reading a style off a face ----
    "fit_style steps 0": (lambda: makeup.fit_style(FACE64, FACE64, MASKS64, steps=0), ValueError, "steps must be an int >= 1, got 0"),
    "fit_style steps float": (lambda: makeup.fit_style(FACE64, FACE64, MASKS64, steps=2.5), TypeError, "steps must be an int"),
    "fit_style lr NaN": (lambda: makeup.fit_style(FACE64, FACE64, MASKS64, lr=NAN), ValueError, "lr must be a finite number"),
    "fit_style bare shape": (lambda: makeup.fit_style(FACE64, torch.zeros(1, 3, 32, 32), MASKS64), ValueError, r"bare must have the image's shape \(1, 3, 64, 64\)"),
    "fit_style bare NaN": (lambda: makeup.fit_style(FACE64, _img(NAN, (1, 3, 64, 64)), MASKS64), ValueError, "bare holds 1 NaN"),
    "fit_style mask missing": (lambda: makeup.fit_style(FACE64, FACE64, {"lips": MASKS64["lips"]}), ValueError, "masks has no 'eyeshadow' region"),
    "bare_estimate no skin": (lambda: makeup.bare_estimate(FACE64, {**MASKS64, "skin": torch.zeros(1, 1, 64, 64)}), ValueError,
                              r"masks\['skin'\] must show at least 4 pixels of skin in every image"),
    "LayeredTransfer batch": (lambda: models.LayeredTransfer(fit_steps=1)(FACE64, torch.zeros(2, 3, 64, 64)), ValueError,
                              "source and reference must hold the same number of images, got 1 and 2"),
    "LayeredTransfer size": (lambda: models.LayeredTransfer(fit_steps=1)(torch.zeros(1, 3, 32, 32), FACE64), ValueError,
                             "source must be 64 x 64 pixels"),
    "LayeredTransfer fit_steps 0": (lambda: models.LayeredTransfer(fit_steps=0), ValueError, "fit_steps"),
    "apply_reference batch": (lambda: tryon.apply_reference(FACE64, torch.zeros(3, 3, 64, 64), nets=_nets()), ValueError, r"reference must be one face or one per image \(1\), got 3"),
    # ---- landmarks checked against the image ----
    "landmarks off the image": (lambda: _shade(_portrait()[0], face_landmarks=_portrait()[1] + 5000), ValueError, "landmarks for image reach x in .* outside the 512 x 512 image"),
    "landmarks scaled up": (lambda: _shade(_portrait()[0], face_landmarks=_portrait()[1] * 20), ValueError, "outside the 512 x 512 image"),
    "landmarks normalised to [0, 1]": (lambda: _shade(_portrait()[0], face_landmarks=_portrait()[1] / 512), ValueError, r"landmarks for image put the eyes 0.\d px apart: no usable face"),
    "landmarks NaN": (lambda: _shade(_portrait()[0], face_landmarks=np.full((468, 2), NAN)), ValueError, "landmarks for image holds 936 NaN"),
    "landmarks shape": (lambda: _shade(_portrait()[0], face_landmarks=np.zeros((68, 2))), ValueError, r"must be the \(468, 2\) face-mesh points"),
    "landmarks collapsed": (lambda: _shade(_portrait()[0], face_landmarks=np.full((468, 2), 100.0)), ValueError, "put the eyes 0.0 px apart"),
    "landmarks with a portrait name": (lambda: _shade("astronaut", face_landmarks=_portrait()[1]), ValueError, "landmarks were given for image 'astronaut', a bundled portrait"),
    "reference landmarks with a name": (lambda: tryon.apply_reference(FACE64, "astronaut", reference_landmarks=_portrait()[1], nets=_nets()), ValueError, "landmarks were given for reference 'astronaut'"),
    # ---- face parameters ----
    "Identity NaN background": (lambda: faces.Identity(background=(NAN, 0.5, 0.5)), ValueError, r"Identity.background must be an sRGB triple in \[0, 1\], got \(nan"),
    "Identity inf clothes": (lambda: faces.Identity(clothes=(0.2, INF, 0.2)), ValueError, "Identity.clothes must be an sRGB triple"),
    "Identity NaN tone": (lambda: faces.Identity(tone=NAN), ValueError, r"Identity.tone must be a number in \[1, 10\], got nan"),
    "Identity tone str": (lambda: faces.Identity(tone="5"), ValueError, "Identity.tone must be a number"),
    "Identity tone bool": (lambda: faces.Identity(tone=True), ValueError, "Identity.tone must be a number"),
    "Identity texture float": (lambda: faces.Identity(texture=1.5), ValueError, "Identity.texture must be a non-negative int"),
    "Identity hair style": (lambda: faces.Identity(hair_style="mohawk"), ValueError, "Identity.hair_style must be one of"),
    # ---- toy data and latent walks ----
    "toy_scores NaN samples": (lambda: metrics.toy_scores(torch.full((100, 2), NAN), data.grid_of_25()), ValueError, "samples holds 200 NaN"),
    "toy_scores 1-D samples": (lambda: metrics.toy_scores(torch.zeros(100), data.grid_of_25()), ValueError, r"samples must be a tensor of shape \(N, dim\)"),
    "grid_of_25 side float": (lambda: data.grid_of_25(side=5.0), TypeError, "side must be an int >= 1, got 5.0"),
    "ring sample float": (lambda: data.ring_of_8().sample(2.5), ValueError, "n must be a positive int, got 2.5"),
    "slerp NaN": (lambda: train.slerp(torch.full((4,), NAN), torch.ones(4), 0.5), ValueError, "z0 holds 4 NaN"),
    "slerp t str": (lambda: train.slerp(torch.ones(4), -torch.ones(4) + 2 * torch.eye(4)[0], "0.5"), TypeError, "t must be a number"),
    "slerp shapes": (lambda: train.slerp(torch.ones(4), torch.ones(5), 0.5), ValueError, "z0 and z1 must be non-zero vectors of the same length"),
    "slerp zero vector": (lambda: train.slerp(torch.zeros(4), torch.ones(4), 0.5), ValueError, "non-zero vectors"),
    "set_seed float": (lambda: __import__("course_lib.device", fromlist=["x"]).set_seed(1.5), ValueError, r"set_seed\(seed=1.5\): expected a non-negative int"),
    "lfw size float": (lambda: data.lfw_faces(size=32.0), ValueError, r"size must be an int in \[8, 256\]"),
    "make_grid nrow float": (lambda: viz.make_grid(torch.zeros(4, 3, 8, 8), nrow=2.5), TypeError, "nrow must be an int >= 1, got 2.5"),
    "make_grid nrow 0": (lambda: viz.make_grid(torch.zeros(4, 3, 8, 8), nrow=0), ValueError, "nrow must be an int >= 1, got 0"),
    "MakeupStyle NaN opacity": (lambda: makeup.MakeupStyle(lipstick="coral", lip_opacity=NAN), ValueError, r"lip_opacity must lie in \[0, 1\], got nan"),
    "MakeupStyle NaN colour": (lambda: makeup.MakeupStyle(lipstick=(0.5, NAN, 0.2)), ValueError, "lipstick must be an sRGB triple"),
    "MakeupStyle inf opacity": (lambda: makeup.MakeupStyle(blush="peach", blush_opacity=INF), ValueError, "blush_opacity must lie in"),
    # ---- drawing ----
    "to_numpy_image NaN": (lambda: viz.to_numpy_image(torch.full((3, 8, 8), NAN)), ValueError, "x holds 192 NaN"),
    "to_numpy_image shape": (lambda: viz.to_numpy_image(torch.zeros(2, 8, 8)), ValueError, r"x must have shape \(B, 3, H, W\)"),
    "to_numpy_image numpy": (lambda: viz.to_numpy_image(np.zeros((8, 8, 3))), TypeError, "x must be a torch.Tensor"),
})


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_a_clear_error_naming_the_argument(name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("x", [torch.zeros(3, 4), np.arange(6.0), 1.5, 3, torch.tensor([1, 2]), np.array(["a"])])
def test_finite_values_pass(x):
    assert validate.finite(x, "x") is None  # no error: integers and strings cannot hold NaN
    with pytest.raises(ValueError, match=r"x holds 1 NaN"):  # ... and the same call does see one that does
        validate.finite(torch.tensor([0.0, float("nan")]), "x")


def test_documented_conversions_give_the_right_result():
    # integers of numpy type count as ints; ints count as numbers; tensors and lists as features
    assert validate.integer(np.int64(3), "k") == 3 and isinstance(validate.integer(np.int64(3), "k"), int)
    assert validate.number(1, "x") == 1.0 and validate.number(np.float32(0.25), "x", 0, 1) == 0.25
    assert validate.features([[0, 1], [2, 3]], "f").dtype == torch.float64
    # a one-element tensor or array stands for its number (a DataLoader's index, a 0-d FID from torch), but keeps its type
    assert validate.integer(torch.tensor(3), "k") == 3 and validate.number(np.array(0.25), "x") == 0.25
    with pytest.raises(TypeError, match=r"index must be an int, got 2.0 \(float\)"):
        validate.integer(torch.tensor(2.0), "index")
    assert torch.equal(data.SynthFaces(4, size=32)[torch.tensor(1)], data.SynthFaces(4, size=32)[1])
    p = validate.distribution([2, 2], "p")  # weights, not yet normalised: total_variation normalises
    assert metrics.total_variation(p, [1, 3]) == pytest.approx(0.25)
    # uint8 images are divided by 255; grey (H, W) arrays repeated to RGB; RGBA drops alpha
    x, kind = makeup.to_batch01(np.full((4, 4), 255, dtype=np.uint8))
    assert kind == "numpy3" and x.shape == (1, 3, 4, 4) and torch.all(x == 1)
    x, _ = makeup.to_batch01(np.concatenate([_arr(shape=(4, 4, 3)), np.zeros((4, 4, 1), np.float32)], -1))
    assert x.shape == (1, 3, 4, 4) and torch.allclose(x, torch.full_like(x, 0.5))
    # a clean call of each metric still works after the checks
    assert 0 <= metrics.precision_recall(REAL, FAKE)["precision"] <= 1
    assert math.isfinite(metrics.fid(REAL, FAKE)) and metrics.verdict(0.5, 0.9, 0.1) == "beyond noise"


# --------------------------------------------------------------------------------------------------
# Uploads: only plain image formats, the size checked from the header, orientation and bit depth honoured
# --------------------------------------------------------------------------------------------------
def _encode(img, fmt="PNG", **options) -> bytes:
    import io

    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _pil(mode="RGB", size=(40, 40), colour=0):
    from PIL import Image

    return Image.new(mode, size, colour)


UPLOADS = {
    "text file": (lambda: b"hello, this is not a photo", "not an image this course reads: upload a PNG, JPEG, WEBP or BMP photo"),
    "EPS (would run Ghostscript)": (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "not an image this course reads"),
    "PDF": (lambda: b"%PDF-1.4\n1 0 obj << >> endobj\n", "not an image this course reads"),
    "GIF": (lambda: _encode(_pil(), "GIF"), "not an image this course reads"),
    "TIFF": (lambda: _encode(_pil(), "TIFF"), "not an image this course reads"),
    "truncated PNG": (lambda: _encode(_pil())[:60], "could not be decoded|header is damaged"),
    "PNG over the pixel cap": (lambda: _encode(_pil("L", (5000, 4000))), r"5000 x 4000 pixels, more than 16,777,216 .* refused before decoding"),
    "PNG far over the cap (a bomb)": (lambda: _encode(_pil("1", (20000, 20000))), "announces far more than 16,777,216 pixels"),
}


@pytest.mark.parametrize("name", list(UPLOADS))
def test_bad_uploads_are_refused_in_memory_with_a_clear_message(name, tmp_path, monkeypatch):
    import tempfile

    make, message = UPLOADS[name]
    payload = make()
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tempfile.gettempdir()))
    with pytest.raises(ValueError, match=message) as info:
        tryon.load_upload(payload)
    assert "object at 0x" not in str(info.value)  # no Python reprs in what a student reads
    assert sorted(os.listdir(tempfile.gettempdir())) == before and not os.listdir(tmp_path)


def test_uploads_are_converted_the_way_they_look():
    from PIL import Image

    # 16-bit grey keeps its range (a plain convert("RGB") turns it white)
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    grey = tryon.load_upload(_encode(Image.fromarray(ramp)))
    assert grey.shape == (64, 64, 3) and grey.min() == 0 and grey.max() == 1
    assert abs(grey[32, 32, 0] - ramp[32, 32] / 65535) < 1e-6
    # palette images keep their colours; transparent pixels become white
    pal = Image.new("P", (4, 2))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putdata([0, 0, 1, 1, 0, 0, 1, 1])
    out = tryon.load_upload(_encode(pal))
    assert np.array_equal(out[0, 0], [1, 0, 0]) and np.array_equal(out[0, 3], [0, 0, 1])
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:, :2] = (0, 255, 0, 255)  # left half opaque green, right half fully transparent
    out = tryon.load_upload(_encode(Image.fromarray(rgba, "RGBA")))
    assert np.array_equal(out[0, 0], [0, 1, 0]) and np.array_equal(out[0, 3], [1, 1, 1])
    # the EXIF orientation a phone wrote is applied: a 60 x 40 landscape stored with "rotate 90" is a portrait
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, :30] = 255  # left half white
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    out = tryon.load_upload(_encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.shape == (60, 40, 3) and out[:25].mean() > 0.9 and out[35:].mean() < 0.1  # white on top after the turn
    # WebP and BMP are read too
    for fmt in ("WEBP", "BMP"):
        assert tryon.load_upload(_encode(_pil(colour=(200, 100, 50)), fmt)).shape == (40, 40, 3)
