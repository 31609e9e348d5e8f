"""train.recipes: the named DCGAN recipes, the shipped ladder results, and the tools that make them."""
import json
import subprocess
import sys

import pytest
import torch

from course_lib import config, models, train


def test_recipes_build_their_models_and_configs():
    G, D = train.recipes.DCGAN.models(size=32, width=8)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    G, D = train.recipes.FAST.models(size=32, width=8)
    assert D.mbstd_group == 4 and any(isinstance(m, models.MinibatchStd) for m in D.modules())
    cfg = train.recipes.FAST.config(steps=7, batch_size=8)
    assert (cfg.steps, cfg.batch_size, cfg.r1_gamma, cfg.r1_every, cfg.beta1, cfg.beta2) == (7, 8, 0.2, 4, 0.0, 0.99)
    assert train.TrainConfig().r1_gamma == 0.0  # the plain config stays DCGAN's
    calls = []
    _, D = train.recipes.FAST.models(size=32, width=8, mbstd_fn=lambda x, g: calls.append(g) or models.minibatch_std(x, g))
    D(torch.randn(4, 3, 32, 32))
    assert calls == [4]


def test_a_generator_is_rebuilt_from_a_checkpoint_config():
    G = models.DCGANGenerator.from_config({"z_dim": 16, "size": 32, "width": 8, "norm": "pixel"})
    assert G.norm == "pixel" and G(torch.randn(2, 16)).shape == (2, 3, 32, 32)
    assert models.DCGANGenerator.from_config({"z_dim": 16, "size": 32, "width": 8}).norm == "batch"  # older checkpoints
    with pytest.raises(ValueError, match="norm must be one of"):
        models.DCGANGenerator(norm="layer")


def test_the_shipped_ladder_has_every_rung_on_three_seeds_and_its_top_is_the_shipped_recipe():
    rows = train.recipes.ladder_results(32)
    meta = json.loads((train.recipes.LADDER_DIR / "32px.meta.json").read_text())
    assert meta["ladder"][0] == "dcgan" and meta["ladder"][-1] == train.recipes.FAST.name
    budget = [r for r in rows if r["kimg"] == meta["kimg"]]
    for name in meta["ladder"]:  # the ladder proper: three seeds a rung, and a sample grid
        assert sorted(r["seed"] for r in budget if r["rung"] == name) == [0, 1, 2], name
        assert (train.recipes.LADDER_DIR / "samples" / f"32px-{name}.png").exists(), name
    known = {r["rung"] for r in meta["rungs"]}
    assert {r["rung"] for r in rows} <= known  # every shipped row belongs to a described rung
    fast = next(r for r in budget if r["rung"] == "fast")
    assert (fast["g"], fast["d"], fast["cfg"]) == (train.recipes.FAST.g, train.recipes.FAST.d, train.recipes.FAST.cfg)
    table = train.recipes.ladder_table(budget, ["dcgan", "fast"])
    assert table.count("\n") == 4 and "| dcgan |" in table and "real vs real (floor)" in table
    with pytest.raises(FileNotFoundError, match="gan_ladder.py --size 48"):
        train.recipes.ladder_results(48)


def test_ladder_table_gives_mean_and_standard_error():
    rows = [{"rung": "a", "images": 1000, "wall_min": 1.0, "precision": p, "recall": 0.5, "tone_tv": 0.1}
            for p in (0.4, 0.6)]
    line = train.recipes.ladder_table(rows).splitlines()[2]
    assert "0.50 ± 0.10" in line and "| 1k |" in line  # se = sd / sqrt(n) = 0.1414 / 1.414


def test_ladder_table_says_which_machine_timed_each_rung():
    xeon = "Intel(R) Xeon(R) Processor (avx512_bf16, amx_bf16), 2 threads, torch 2.13.0+cpu, bf16 autocast: True"
    epyc = "AMD EPYC (no native bf16), 2 threads, torch 2.13.0+cpu, bf16 autocast: False"
    row = {"images": 1000, "wall_min": 1.0, "precision": 0.5, "recall": 0.5, "tone_tv": 0.1}
    rows = [{**row, "rung": "a", "machine": xeon, "cfg": {}}, {**row, "rung": "a", "machine": epyc, "cfg": {}},
            {**row, "rung": "f", "machine": xeon, "cfg": {"amp": False}}, {**row, "rung": "old"}]
    lines = train.recipes.ladder_table(rows).splitlines()
    assert "| 1.00 ± 0.00 (EPYC, fp32; Xeon, bf16) |" in lines[2], lines[2]
    assert "| 1.00 (Xeon, fp32) |" in lines[3], lines[3]  # a float32 run on a bf16 machine
    assert "| 1.00 |" in lines[4], lines[4]  # a row without a machine gets no tag


def test_ladder_tool_runs_a_tiny_rung_and_skips_it_when_asked_again(tmp_path):
    out = tmp_path / "ladder.json"
    cmd = [sys.executable, str(config.REPO_ROOT / "benchmarks" / "gan_ladder.py"), "--size", "32", "--kimg", "0.128",
           "--seeds", "0", "--rungs", "fast", "batch16-52k", "progressive", "--n-eval", "40", "--width", "8", "--threads", "1",
           "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "fast seed 0: precision" in first.stdout and (tmp_path / "samples" / "32px-fast.png").exists()
    rows = {r["rung"]: r for r in json.loads(out.read_text())}
    assert (rows["fast"]["steps"], rows["fast"]["images"]) == (2, 128)  # 128 images in batches of 64
    # a rung with a share of the budget: 5/8 of 128 images in batches of 16 is 5 steps; the row keeps the ladder's kimg
    share = rows["batch16-52k"]
    assert (share["steps"], share["images"], share["kimg"], share["share"]) == (5, 80, 0.128, 0.625)
    grown = rows["progressive"]  # grown from 8 px on the same budget; its G ends at full size
    assert (grown["steps"], grown["grow"], grown["g"]["output"]) == (5, 0.125, "skip")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "seed 0: precision" not in again.stdout and "| fast |" in again.stdout


def test_gpu_smoke_refuses_clearly_without_cuda_and_runs_on_the_cpu_when_asked():
    script = str(config.REPO_ROOT / "benchmarks" / "gpu_smoke.py")
    if not torch.cuda.is_available():
        refused = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "no CUDA device" in refused.stderr
    ran = subprocess.run([sys.executable, script, "--device", "cpu", "--steps", "2", "--n-eval", "40"],
                         capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert ran.returncode == 0, ran.stderr
    assert "dcgan64: 2 steps" in ran.stdout and "cgan64: 2 steps" in ran.stdout and "losses finite: True" in ran.stdout
