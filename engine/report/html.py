"""The page: one HTML file with everything inline, under a Content-Security-Policy that allows no
network access at all (`default-src 'none'`); scripts and styles are allowed by their sha256.

Input values never become markup: they travel inside the gzip+base64 payload or a JSON block made
safe for a <script> element, and the page puts them into the document as text."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from .assets import Assets

_TOKEN = re.compile(r"\{\{([a-z_]+)\}\}")
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(value: Any) -> str:
    """JSON that can sit inside <script type="application/json">: `<`, `>` and `&` (so no
    `</script>` or `<!--` can end or change the element) and U+2028/U+2029 are escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_SCRIPT_SAFE)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _raw_text(text: str, element: str) -> str:
    """Text for a raw-text element (<script>, <style>) that cannot end it early."""
    if re.search(rf"</{element}", text, re.IGNORECASE) or "<!--" in text:
        raise ValueError(f"asset text would end its <{element}> element")
    return text


def content_security_policy(scripts: list[str], styles: list[str]) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src " + " ".join(_sha256(s) for s in scripts),
        "style-src " + " ".join(_sha256(s) for s in styles),
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def render_page(assets: Assets, meta: dict[str, Any], data_base64: str) -> str:
    """The whole page: the template with the library, dqs' script and style, `meta` as JSON and
    the payload; the CSP lists the hash of every script and style element it holds."""
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", data_base64):
        raise ValueError("the payload is not base64")
    library_js = _raw_text(assets.library_js, "script")
    app_js = _raw_text(assets.app_js, "script")
    style = _raw_text(assets.library_css + "\n" + assets.app_css, "style")
    values = {
        "csp": content_security_policy([library_js, app_js], [style]),
        "style": style,
        "library_js": library_js,
        "app_js": app_js,
        "meta": script_json(meta),
        "data": data_base64,
        "licenses": _raw_text(assets.library_license, "script"),
    }
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        used.add(match.group(1))
        return values[match.group(1)]

    page = _TOKEN.sub(fill, assets.page)  # one pass: filled-in text is never scanned for tokens
    if used != set(values):
        raise ValueError(f"page template lacks {sorted(set(values) - used)}")
    return page
