"""``dshgan serve`` (src/dshgan/serve_cli.py; here beside the serve tests for their fixtures, as
tests/collection/test_index_cli.py is for index_cli.py): a missing or foreign index, a missing
run and a run of another model stop it with one line and no traceback, before any port is
bound; the parser's defaults are the library's."""

from __future__ import annotations

import pytest

from dshgan.cli import build_parser, main


def test_parser_defaults_bind_loopback_and_match_the_library():
    from dshgan import serve_cli
    from dshgan.serve import batcher

    args = build_parser().parse_args(["serve", "my.index"])
    assert (args.host, args.port, args.workers, args.run) == ("127.0.0.1", 8000, 1, None)
    assert serve_cli.DEFAULT_MAX_BATCH == batcher.DEFAULT_MAX_BATCH == args.batch
    assert serve_cli.DEFAULT_BATCH_WAIT_MS == batcher.DEFAULT_MAX_WAIT_S * 1000
    assert not serve_cli._is_loopback("0.0.0.0") and serve_cli._is_loopback("::1")


@pytest.mark.parametrize("case,words", [
    ("missing", "not found"), ("foreign", "f.index"), ("other-run", "another model"),
    ("no-run", "--run"), ("bad-workers", "--workers")])
def test_startup_errors_are_one_line(case, words, served, other_run, tmp_path, capsys):
    (tmp_path / "f.index").write_text("not an index at all\n" * 20)
    argv = {"missing": ["serve", str(tmp_path / "missing.index")],
            "foreign": ["serve", str(tmp_path / "f.index")],
            "other-run": ["serve", str(served), "--run", str(other_run)],
            "no-run": ["serve", str(served), "--run", str(tmp_path)],
            "bad-workers": ["serve", str(served), "--workers", "0"]}[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dshgan: error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and words in err



def test_default_threads_leave_half_the_cores_to_http(monkeypatch):
    from dshgan.serve import settings

    monkeypatch.setattr(settings.os, "cpu_count", lambda: 16)
    assert [settings.default_threads(w) for w in (1, 2, 4, 8, 16)] == [8, 4, 2, 1, 1]
    monkeypatch.setattr(settings.os, "cpu_count", lambda: 2)
    assert settings.default_threads() == 1


def test_settings_travel_to_worker_processes_unchanged(monkeypatch):
    from dshgan.serve.settings import ServeSettings

    settings = ServeSettings(index="/x.index", run="/r", batching=False, max_batch=4,
                             max_wait_s=0.01, threads=3, max_pixels=None)
    for key, value in settings.to_env().items():
        monkeypatch.setenv(key, value)
    assert ServeSettings.from_env() == settings
