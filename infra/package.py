"""`make package STAGE=…`: the deployable template and zip under build/STAGE/.

1. `infra.template` writes the merge file (tables, queue, roles, alarms, overrides);
2. `chalice package --pkg-format cloudformation --merge-template` writes `sam.json` (a SAM
   template) and `deployment.zip`;
3. `infra.precompile` adds each module's bytecode to the zip (Lambda cannot cache it).

Chalice writes the Lambda runtime of the Python that runs it, so this runs Chalice from the
packaging virtualenv (.venv-package, Python 3.12) that `make package` creates. Given another
Python it still works, and says which runtime that makes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.template import merge_template

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_VENV = ROOT / ".venv-package"
BUILD = ROOT / "build"


def packaging_python() -> Path:
    """The packaging virtualenv's Python if it exists, else this one."""
    candidate = PACKAGE_VENV / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def chalice_environment() -> dict[str, str]:
    """`chalice package` imports the app: a region and dummy credentials, and no IMDS probing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARK_"))}
    env.update(
        AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        AWS_ACCESS_KEY_ID="packaging",
        AWS_SECRET_ACCESS_KEY="packaging",  # noqa: S106 (not a secret: chalice needs any value)
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def build(stage: str, out: Path | None = None, python: Path | None = None) -> Path:
    """Package `stage` into `out` (default build/STAGE); the folder holding sam.json and the zip."""
    import json

    out = out or BUILD / stage
    python = python or packaging_python()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    merge = out / "merge.json"
    merge.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    subprocess.run(  # noqa: S603 (our own virtualenv's chalice, fixed arguments)
        [
            str(python.with_name("chalice")),
            "package",
            "--pkg-format",
            "cloudformation",
            "--stage",
            stage,
            "--merge-template",
            str(merge),
            str(out),
        ],
        cwd=ROOT,
        env=chalice_environment(),
        check=True,
        timeout=900,
    )
    drop_translation_sources(out / "deployment.zip")
    # Bytecode by the runtime's Python version, so a cold start does not compile every module.
    subprocess.run(  # noqa: S603 (our own virtualenv's Python, fixed arguments)
        [str(python), "-m", "infra.precompile", str(out / "deployment.zip")],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    return out


def drop_translation_sources(archive: Path) -> int:
    """Remove the catalogs' `.po`/`.pot` sources from the zip: the functions read only the
    compiled `.mo` files (docs/languages.md). How many files were removed."""
    import shutil
    import zipfile

    keep = archive.with_suffix(".tmp")
    dropped = 0
    with (
        zipfile.ZipFile(archive) as source,
        zipfile.ZipFile(keep, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            if info.filename.startswith("functions/locales/") and info.filename.endswith((".po", ".pot")):
                dropped += 1
                continue
            target.writestr(info, source.read(info), compress_type=info.compress_type)
    shutil.move(keep, archive)
    return dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make package", description=__doc__)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--python", type=Path, default=None, help="Python that runs chalice")
    args = parser.parse_args(argv)
    out = build(args.stage, args.out, args.python)
    print(f"make package: {out}/sam.json and {out}/deployment.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
