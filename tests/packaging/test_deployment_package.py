"""`make package` builds a zip that holds every module the handlers import, and stays small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
# Provided by the Lambda Python runtime, so deliberately not bundled (certifi is optional for
# botocore); _distutils_hack is setuptools' import hook in this virtualenv, not a handler import.
RUNTIME = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "dateutil",
    "six",
    "certifi",
    "_distutils_hack",
}
# The handlers' imports, plus what they import on first use (Powertools logging and metrics,
# the aggregator's batch utility), which a cold import does not show.
IMPORT_HANDLERS = (
    "import json, sys; import app; import functions.aggregator.handler; "
    "import functions.webhooks.events, functions.webhooks.delivery; "
    "from functions import telemetry; telemetry.logger(); telemetry.metrics(); "
    "import aws_lambda_powertools.metrics; "
    "print(json.dumps({n: getattr(m, '__file__', None) for n, m in list(sys.modules.items())}))"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.pop("AWS_ENDPOINT_URL", None)
    return env


@pytest.fixture(scope="module")
def deployment_zip(prod: Path) -> Path:
    """The CloudFormation package's zip (the one `make deploy` uploads)."""
    return prod / "deployment.zip"


def imported_modules() -> dict[str, str | None]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_HANDLERS],
        cwd=ROOT,
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def test_zip_holds_every_module_the_handlers_import(deployment_zip: Path) -> None:
    names = set(zipfile.ZipFile(deployment_zip).namelist())
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    missing = []
    for module, file in imported_modules().items():
        if not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(ROOT) and not path.is_relative_to(ROOT / ".venv"):
            wanted = str(path.relative_to(ROOT))
        elif path.is_relative_to(site):
            top = path.relative_to(site).parts[0]
            if top.split(".")[0] in RUNTIME or top.startswith("__editable__"):
                continue
            wanted = str(path.relative_to(site))
        else:
            continue  # the standard library
        if wanted.endswith(".so"):
            wanted = wanted.split("/")[0] + "/"  # native parts come as the platform's wheel
            if not any(n.startswith(wanted) for n in names):
                missing.append(module)
        elif wanted not in names:
            missing.append(f"{module} ({wanted})")
    assert not missing, f"modules imported by the handlers but not in the zip: {missing}"


# Lambda takes 50 MB zipped; our own ceiling keeps uploads and cold starts quick. It was 10 MiB
# until sending (SES, SNS, Twilio) and 31 compiled catalogs arrived (docs/benchmarks.md, Targets).
ZIP_CEILING_MIB = 12


def test_zip_is_small(deployment_zip: Path) -> None:
    assert deployment_zip.stat().st_size < ZIP_CEILING_MIB * 1024 * 1024


def test_native_code_in_the_zip_matches_the_functions_runtime_and_architecture(
    deployment_zip: Path, sam: dict
) -> None:
    # Chalice fetches wheels for the architecture chalice.json names; a template that only said
    # arm64 would ship x86_64 pydantic_core, which fails to import on Lambda
    (runtime,) = {
        r["Properties"]["Runtime"] for r in sam["Resources"].values() if "Runtime" in r.get("Properties", {})
    }
    (arch,) = {a for r in sam["Resources"].values() for a in r.get("Properties", {}).get("Architectures", [])}
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[arch]
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    native = [n for n in zipfile.ZipFile(deployment_zip).namelist() if n.endswith(".so")]
    assert any(n.startswith("pydantic_core/") for n in native)
    for name in native:
        if "cpython-" in name:
            assert tag in name and machine in name, name


def test_every_function_handler_is_a_function_of_a_module_in_the_zip(
    deployment_zip: Path, sam: dict[str, Any]
) -> None:
    # Given each packaged function's handler ("module.function")
    functions = {
        name: resource["Properties"]
        for name, resource in sam["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    names = set(zipfile.ZipFile(deployment_zip).namelist())
    handlers = {name: props["Handler"] for name, props in functions.items()}
    # The aggregator starts from its own module, not from app.py (a cold start without routes)
    assert handlers["Aggregator"] == "functions.aggregator.handler.handle_stream_event"
    # Every function names the handler of its own that infra/template.py declares (the one the
    # local stack drives): only the API starts from app.py, no two functions share a handler
    from infra.template import HANDLERS

    assert handlers == HANDLERS
    assert [name for name, handler in handlers.items() if handler.startswith("app.")] == ["APIHandler"]
    assert len(set(handlers.values())) == len(handlers)
    for name, handler in handlers.items():
        module, function = handler.rsplit(".", 1)
        # Then its module is in the zip and the function is a callable there
        assert module.replace(".", "/") + ".py" in names, (name, handler)
        check = f"import {module} as m; assert callable(m.{function})"
        subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=_env(), check=True)


def test_the_modules_the_functions_load_ship_bytecode_for_their_runtime(deployment_zip: Path) -> None:
    from tests.packaging.conftest import packaging_python_version

    major, minor = packaging_python_version()
    names = set(zipfile.ZipFile(deployment_zip).namelist())

    def bytecode(source: str) -> str:
        folder, _, file = source.rpartition("/")
        return f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.cpython-{major}{minor}.pyc"

    ours = [n for n in names if n.endswith(".py") and (n == "app.py" or n.startswith("functions/"))]
    assert "functions/aggregator/handler.py" in ours
    loaded = ["aws_lambda_powertools/utilities/batch/base.py", "pydantic/main.py", "chalice/app.py"]
    missing = [source for source in ours + loaded if bytecode(source) not in names]
    assert not missing, f"modules without bytecode (compiled on every cold start): {missing[:10]}"


def test_the_zip_ships_every_languages_compiled_catalog(deployment_zip: Path) -> None:
    # The pages and SMS replies read functions/locales/<lang>/LC_MESSAGES/hark.mo at run time
    # (docs/languages.md): a catalog missing from the zip would speak English there.
    from functions.domain.languages import LANGUAGES, SOURCE
    from functions.i18n import catalog_dir

    names = set(zipfile.ZipFile(deployment_zip).namelist())
    wanted = {str((catalog_dir(code) / "hark.mo").relative_to(ROOT)) for code in LANGUAGES if code != SOURCE}
    assert len(wanted) >= 30 and wanted <= names, sorted(wanted - names)
    # and only the compiled catalogs: their .po sources stay out of the zip
    assert not [n for n in names if n.startswith("functions/locales/") and n.endswith((".po", ".pot"))]
