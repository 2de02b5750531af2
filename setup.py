"""The wheel carries the built page: pyproject.toml holds everything else.

``build_py`` copies ``web/dist`` (``make web``) into the package as ``randomchat/web``,
where ``randomchat serve`` finds it from any directory (``config.default_web_dir``).
A wheel built without the page would serve "page not built", so building one fails
instead. An editable install (``make run``, ``make test``) copies nothing: it serves
``web/dist`` from the work tree, rebuilt by ``make web``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PAGE = Path(__file__).parent / "web" / "dist"


class BuildWithPage(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (PAGE / "index.html").is_file():
            raise SystemExit(f"{PAGE} is not built: run 'make web' first")
        shutil.copytree(PAGE, Path(self.build_lib) / "randomchat" / "web", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithPage})
