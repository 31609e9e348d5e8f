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


def test_the_vector_floor_is_near_zero_except_on_the_lids(capsys):
    # The layer model given the true masks and style vector: only the eyeliner's colour (not in the vector) is missing.
    assert transfer_table.main(["--seeds", "97", "--n", "40", "--methods", "vector"]) == 0
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.split()[1:3] == ["vector", "all"])
    lips, lids, cheeks = (float(row[i]) for i in (4, 7, 10))
    assert lips < 0.3 and cheeks < 0.3 < lids < 2.0, row


def test_the_table_refuses_too_few_triplets():
    with pytest.raises(SystemExit):
        transfer_table.main(["--n", "1"])
