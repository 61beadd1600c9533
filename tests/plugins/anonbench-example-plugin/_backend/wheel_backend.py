"""A minimal PEP 517 build backend (pure-Python wheels from ``[project]`` metadata), in-tree so that the
test can ``pip install --no-build-isolation`` this package offline, with no setuptools/wheel needed.

A real plugin would use setuptools, hatchling or flit instead; see docs/anonymizers.md.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

ROOT = Path.cwd()


def _meta() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    meta = _meta()
    dist = meta["name"].replace("-", "_")
    version = meta["version"]
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for pkg in sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()):
        for f in sorted(pkg.rglob("*.py")):
            files[f.relative_to(ROOT).as_posix()] = f.read_bytes()
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {version}\n"
                                 f"Summary: {meta.get('description', '')}\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: wheel_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    eps = meta.get("entry-points", {})
    text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
                   for group, items in eps.items())
    files[f"{info}/entry_points.txt"] = text.encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / name, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return name


def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    return []
