"""The package as a user installs it: a wheel in an empty venv, served from anywhere.

The wheel is built from a copy of what the Dockerfile's build stage sees (pyproject.toml,
setup.py, src/ and the built page), so the work tree stays clean and nothing else of the
repository can stand in for what the wheel lacks. The venv gets the server's locked
dependencies (requirements/server.txt, as the image does) and then the wheel; ``uv pip
check`` proves those satisfy the wheel's own requirements.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SECRET, free_port, stop_process

pytestmark = pytest.mark.process

UV = ROOT / ".venv" / ".tools" / "bin" / "uv"  # installed by make from requirements/uv.txt


def uv(*args: str | Path, cwd: Path | None = None) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(UV), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"uv {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding the server's locked dependencies and the built wheel."""
    assert UV.is_file(), "uv is not installed: run make (it installs requirements/uv.txt)"
    assert (ROOT / "web/dist/index.html").is_file(), "the page is not built: make web"
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    shutil.copytree(ROOT / "web/dist", source / "web/dist")
    uv("build", "--wheel", "--no-build-isolation", "--python", sys.executable,
       "--out-dir", tmp / "dist", cwd=source)  # fmt: skip
    wheels = list((tmp / "dist").glob("randomchat-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    uv("venv", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    uv("pip", "install", "--python", python, "--require-hashes",
       "-r", ROOT / "requirements/server.txt")  # fmt: skip
    uv("pip", "install", "--python", python, "--no-deps", wheels[0])
    uv("pip", "check", "--python", python)
    yield venv


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANDOMCHAT_", "VIRTUAL"))}
    return subprocess.run(
        [str(venv / "bin" / "randomchat"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_wheel_serves_its_page_from_any_directory(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    args = [str(installed / "bin" / "randomchat"), "serve", "--port", str(port),
            "--jwt-secret", SECRET, "--stun-url", "none"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANDOMCHAT_", "VIRTUAL"))}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=elsewhere, stdout=out, stderr=subprocess.STDOUT,
                                   env=env)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                health = httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert health.status_code == 200
        page = httpx.get(url + "/")
        assert page.status_code == 200
        assert "not built" not in page.text.lower()
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
        assert assets, page.text[:500]
        asset = httpx.get(url + assets[0])
        assert asset.status_code == 200 and len(asset.content) > 0
        assert asset.headers["cache-control"].endswith("immutable")
    finally:
        stop_process(process)


def test_a_server_install_has_no_webrtc_stack_and_says_how_to_get_it(
    installed: Path, tmp_path: Path
) -> None:
    python = installed / "bin" / "python"
    probe = "import importlib.util as u; print([u.find_spec(m) is None for m in ('aiortc', 'av')])"
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[True, True]"
    for command in ("bot", "echo-bot", "doctor"):
        done = run(installed, command, "--url", "http://127.0.0.1:9", cwd=tmp_path)
        assert done.returncode == 2, done
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'randomchat[peer]'" in lines[0], done.stderr
