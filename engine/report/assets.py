"""The page's files: dqs' own (`web/`, in the repository) and the front-end library's (`assets/`,
built from the npm registry by scripts/build-report-assets.sh and shipped as package data, never
committed). Every asset is checked against the manifest the build wrote."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources

from ..errors import DqsError, ExitCode

LIBRARY_FILES = ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE")
OWN_FILES = ("page.html", "app.js", "app.css")


class AssetsMissing(DqsError):
    """The report's front-end assets were not built (a source checkout without the build step)."""

    exit_code = ExitCode.FAILURE

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the report's front-end assets are not built ({detail})",
            hint="run `bash scripts/build-report-assets.sh` (needs npm) in the dqs checkout, "
            "or install a dqs package that ships them",
        )


@dataclass(frozen=True)
class Assets:
    page: str  # the HTML template
    app_js: str
    app_css: str
    library_js: str
    library_css: str
    library_license: str
    versions: dict[str, str]


def _read(folder: str, name: str) -> str:
    return resources.files("dqs.engine.report").joinpath(folder, name).read_text(encoding="utf-8")


def load_assets() -> Assets:
    """Every file of the page, the library's checked against its manifest."""
    base = resources.files("dqs.engine.report").joinpath("assets")
    try:
        manifest = json.loads(base.joinpath("manifest.json").read_text(encoding="utf-8"))
        files = manifest["files"]
    except FileNotFoundError:
        raise AssetsMissing("engine/report/assets/manifest.json is missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssetsMissing(f"engine/report/assets/manifest.json is unreadable: {exc}") from exc
    library: dict[str, str] = {}
    for name in LIBRARY_FILES:
        try:
            data = base.joinpath(name).read_bytes()
        except FileNotFoundError:
            raise AssetsMissing(f"engine/report/assets/{name} is missing") from None
        if hashlib.sha256(data).hexdigest() != files.get(name):
            raise AssetsMissing(f"engine/report/assets/{name} does not match its manifest")
        library[name] = data.decode("utf-8")
    return Assets(
        page=_read("web", "page.html"),
        app_js=_read("web", "app.js"),
        app_css=_read("web", "app.css"),
        library_js=library["uPlot.iife.min.js"],
        library_css=library["uPlot.min.css"],
        library_license=library["uPlot.LICENSE"],
        versions=dict(manifest.get("packages", {})),
    )
