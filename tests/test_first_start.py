"""A new user's first commands on a data dir that does not exist yet: they work and print no traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, make_settings, run_cli
from tests.test_faults import _free_port, _get, _node_env, _wait_until_serving

pytestmark = pytest.mark.slow


def test_serve_on_a_new_data_dir_makes_the_catalog_and_answers(tmp_path):
    settings = make_settings(tmp_path / "new")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port), "--threads", "2"],
                            env=_node_env(settings), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_until_serving(proc, f"http://127.0.0.1:{port}")
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/status")
        assert status == 200 and body["counts"]["videos"] == 0
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "catalog ready" in out
    assert "Traceback" not in err and "ERROR" not in err, err


def test_demo_on_a_new_data_dir_prints_no_traceback(tmp_path):
    settings = make_settings(tmp_path / "new")
    result = run_cli(["demo", "--no-serve"], settings, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    assert "sample library: 4 videos" in result.stdout
