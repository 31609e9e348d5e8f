"""tools/transfer_table.py: the per-region, per-tone table of the shipped transfer models on any held-out seed."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import transfer_table  # noqa: E402


def test_the_table_scores_each_method_per_group_and_tells_them_apart(capsys):
    assert transfer_table.main(["--seeds", "99", "--n", "12", "--methods", "nothing", "shade"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    rows = {(r[1], r[2]): r for r in lines if r[2] in ("all", "light", "medium", "deep")}
    assert {g for _, g in rows} == {"all", "light", "medium", "deep"}
    lips = {m: float(rows[(m, "all")][4]) for m in ("nothing", "shade")}
    assert lips["shade"] < 3.0 < 10.0 < lips["nothing"]  # the try-on given the shade vs the bare source
    assert sum(int(rows[("shade", g)][3]) for g in ("light", "medium", "deep")) == 12
    assert sum(r[2] == "worst/best" for r in lines) == 2


def test_the_vector_floor_is_near_zero_and_a_black_liner_raises_the_lids(capsys):
    # The layer model given the true masks and style vector: every region near zero (8-bit rounding). With every
    # liner painted black (the vector without the eyeliner's colour) the lids' error is the vector's own.
    assert transfer_table.main(["--seeds", "97", "--n", "40", "--methods", "vector", "black-liner"]) == 0
    rows = {line.split()[1]: line.split() for line in capsys.readouterr().out.splitlines() if line.split()[2:3] == ["all"]}
    lips, lids, cheeks = (float(rows["vector"][i]) for i in (4, 7, 10))
    assert max(lips, lids, cheeks) < 0.3, rows["vector"]
    black = [float(rows["black-liner"][i]) for i in (4, 7, 10)]
    assert black[0] == lips and black[2] == cheeks and black[1] > 2 * lids and black[1] > 0.4, rows["black-liner"]


def test_the_table_refuses_too_few_triplets():
    with pytest.raises(SystemExit):
        transfer_table.main(["--n", "1"])


def test_fitting_the_encoders_reading_to_the_reference_with_its_true_bare_face_reads_closer(capsys):
    # The oracle: the layer model fitted to each reference from the style encoder's reading, given the reference's
    # true bare face and masks. Its reading paints the sources closer to the truth in every region than the
    # encoder's reading alone (painted the same way, so only the reading differs).
    assert transfer_table.main(["--seeds", "97", "--n", "40", "--fit-steps", "100", "--methods", "encoder", "oracle-fit"]) == 0
    rows = {line.split()[1]: line.split() for line in capsys.readouterr().out.splitlines() if line.split()[2:3] == ["all"]}
    encoder, oracle = ([float(rows[m][i]) for i in (4, 7, 10)] for m in ("encoder", "oracle-fit"))
    assert all(o < 0.8 * e for o, e in zip(oracle, encoder)), (encoder, oracle)
    with pytest.raises(SystemExit):
        transfer_table.main(["--fit-steps", "0", "--methods", "oracle-fit"])
