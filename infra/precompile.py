"""Add compiled bytecode to a Lambda deployment zip (run by the functions' own Python).

Lambda's code folder is read-only, so a module shipped as source alone is compiled again on
every cold start. `chalice package` ships sources; this adds ``__pycache__/*.pyc`` for every
module the functions can load (our whole package, and every dependency module it imports),
compiled by the interpreter that runs this script (the packaging virtualenv's, the same
version as the functions' runtime) with unchecked hashes, so zip timestamps don't matter.
Dependency modules nothing imports stay source only, which keeps the zip small.

    python -m infra.precompile build/prod/deployment.zip
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Import every module of ours (in this interpreter, from the checkout: the zip's native parts
# are built for Lambda's architecture) and list the files they loaded.
LOADED = """
import importlib, json, pkgutil, site, sys
import app, functions
for info in pkgutil.walk_packages(functions.__path__, "functions."):
    importlib.import_module(info.name)
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})
print(json.dumps({"files": files, "site": site.getsitepackages()}))
"""


def loaded_modules(root: Path) -> list[Path]:
    """The files in the unpacked zip at `root` of every module the functions load."""
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="packaging",
        AWS_SECRET_ACCESS_KEY="packaging",  # noqa: S106 (not a secret: boto3 wants any value)
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", LOADED], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    bases = [Path(p).resolve() for p in found["site"]] + [ROOT]
    modules = []
    for name in found["files"]:
        if not name.endswith(".py"):
            continue
        path = Path(name).resolve()
        for base in bases:
            if path.is_relative_to(base) and (root / path.relative_to(base)).is_file():
                modules.append(root / path.relative_to(base))
                break
    return modules


def precompile(archive: Path) -> int:
    """Rewrite `archive` with bytecode next to each module; return how many were compiled."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(archive) as source:
            infos = source.infolist()
            source.extractall(root)
        for module in loaded_modules(root):
            relative = module.relative_to(root)
            py_compile.compile(
                str(module),
                cfile=str(
                    module.parent / "__pycache__" / f"{module.stem}.{sys.implementation.cache_tag}.pyc"
                ),
                dfile=f"/var/task/{relative.as_posix()}",
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        modes = {info.filename: info.external_attr for info in infos}
        compiled = sorted(p for p in root.rglob("*.pyc") if p.relative_to(root).as_posix() not in modes)
        with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as target:
            for path in compiled:
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, path.read_bytes())
    return len(compiled)


if __name__ == "__main__":
    count = precompile(Path(sys.argv[1]))
    print(f"precompile: {count} modules compiled into {sys.argv[1]}")
