from pathlib import Path

from course_lib import config


def test_paths_point_into_the_repository():
    assert (config.REPO_ROOT / "course_lib" / "config.py").is_file()
    assert config.DATA_DIR == config.REPO_ROOT / "data"
    assert config.SOLUTIONS_DIR.is_dir() and config.NOTEBOOKS_DIR.is_dir()


def test_paths_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import importlib

    reloaded = importlib.reload(config)
    assert reloaded.REPO_ROOT == Path(__file__).resolve().parent.parent


def test_fast_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert config.is_fast() and config.pick(full=1000, fast=10) == 10
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not config.is_fast() and config.pick(full=1000, fast=10) == 1000
    monkeypatch.delenv("COURSE_FAST")
    assert not config.is_fast()


def test_build_dir_is_created_under_build(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "BUILD_DIR", tmp_path / "build")
    path = config.build_dir("e2e", "shots")
    assert path.is_dir() and path == tmp_path / "build" / "e2e" / "shots"
