"""tools/library_report.py: the numbers of the maintainers' rules, on this checkout and on a tree that breaks them."""
import importlib.util

from course_lib import config

spec = importlib.util.spec_from_file_location("library_report", config.REPO_ROOT / "tools" / "library_report.py")
library_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(library_report)


def test_this_checkout_keeps_the_rules():
    got = library_report.report(config.REPO_ROOT)
    assert got["hand-written step loops"] == 0 and got["files writing style-vector indices by number"] == []
    assert got["boundary violations"] == [] and len(got["longest functions"]) == 5


def test_a_tree_that_breaks_them_is_counted(tmp_path):
    lib = tmp_path / "course_lib"
    lib.mkdir()
    (lib / "data.py").write_text("from course_lib.train import distributed\n\n"
                                 "def loop(steps):\n    for step in range(steps):\n        pass\n")
    (lib / "losses.py").write_text("def weights(style):\n    return style[:, 5:8] * style[:, [8]]\n")
    got = library_report.report(tmp_path)
    assert got["hand-written step loops"] == 1
    assert got["files writing style-vector indices by number"] == ["course_lib/losses.py"]
    assert len(got["boundary violations"]) == 1 and "imports train" in got["boundary violations"][0]
