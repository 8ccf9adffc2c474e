"""`GET /openapi.json` and `GET /docs`: the API's document and a page that renders it.

The page is self-contained: the document is embedded as a JSON data block and rendered by a
small inline script (no framework, no CDN, no request to any other host, nor even a second one
to this host). The Content-Security-Policy allows exactly that script and style by hash.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from functions.lazy import lazy

if TYPE_CHECKING:
    from functions.api import openapi
else:  # generating the document loads pydantic and every model: these two routes only
    openapi = lazy("functions.api.openapi")

bp = Blueprint(__name__)

STYLE = """
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
color:#1b1f24;background:#fafbfc}header{padding:1.5rem 2rem;background:#0d1b2a;color:#fff}
header h1{margin:0 0 .25rem;font-size:1.6rem}header p{margin:.25rem 0;white-space:pre-wrap;max-width:60rem}
main{padding:1rem 2rem;max-width:72rem}h2{margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
details{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0}
summary{cursor:pointer;padding:.6rem .8rem;display:flex;gap:.8rem;align-items:baseline}
summary:focus{outline:3px solid #0969da}.m{font:700 .8rem monospace;padding:.15rem .5rem;border-radius:4px;
color:#fff;min-width:4.2rem;text-align:center}.get{background:#0969da}.post{background:#1a7f37}
.patch{background:#9a6700}.delete{background:#cf222e}.put{background:#8250df}
code,.p{font-family:ui-monospace,monospace}
.body{padding:.4rem 1rem 1rem;border-top:1px solid #eaeef2}table{border-collapse:collapse;width:100%}
td,th{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eaeef2}
.t{color:#6e7781;font-size:.85em}.req{color:#cf222e}ul.s{margin:.2rem 0;padding-left:1.2rem;list-style:none}
.desc{white-space:pre-wrap}
"""

SCRIPT = r"""
(function () {
  var spec = JSON.parse(document.getElementById("spec").textContent);
  var schemas = (spec.components || {}).schemas || {};
  var shared = (spec.components || {}).responses || {};
  function el(tag, cls, kids) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    (kids || []).forEach(function (k) {
      n.appendChild(typeof k === "string" ? document.createTextNode(k) : k);
    });
    return n;
  }
  function refName(ref) { return ref.split("/").pop(); }
  function resolve(s) { return s && s.$ref ? schemas[refName(s.$ref)] || {} : s || {}; }
  function typeText(s) {
    if (!s) return "any";
    if (s.$ref) return refName(s.$ref);
    if (s.enum) return s.enum.map(JSON.stringify).join(" | ");
    if (s["const"] !== undefined) return JSON.stringify(s["const"]);
    if (s.anyOf) return s.anyOf.map(typeText).join(" | ");
    if (s.type === "array") return typeText(s.items) + "[]";
    if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object")
      return "map of " + typeText(s.additionalProperties);
    return Array.isArray(s.type) ? s.type.join(" | ") : s.type || "any";
  }
  function limits(s) {
    var out = [];
    ["minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "minItems", "maxItems",
     "pattern", "default"].forEach(function (k) {
      if (s[k] !== undefined) out.push(k + " " + JSON.stringify(s[k]));
    });
    return out.join(", ");
  }
  function schemaTree(s, depth, seen) {
    var r = resolve(s);
    var list = el("ul", "s");
    if (depth > 5) return list;
    var props = r.properties || {};
    var required = r.required || [];
    Object.keys(props).forEach(function (name) {
      var p = props[name];
      var li = el("li", null, [el("code", null, [name]), " ",
        el("span", "t", [typeText(p)]),
        required.indexOf(name) >= 0 ? el("span", "req", [" required"]) : ""]);
      var extra = [p.description || resolve(p).description || "", limits(p)].filter(Boolean).join(" — ");
      if (extra) li.appendChild(el("div", "t", [extra]));
      var inner = p.$ref ? p : p.items && p.items.$ref ? p.items : null;
      if (inner && seen.indexOf(refName(inner.$ref)) < 0)
        li.appendChild(schemaTree(inner, depth + 1, seen.concat([refName(inner.$ref)])));
      list.appendChild(li);
    });
    return list;
  }
  function section(title, kids) { return el("div", null, [el("h4", null, [title])].concat(kids)); }
  function operation(path, method, op) {
    var body = el("div", "body");
    if (op.description) body.appendChild(el("p", "desc", [op.description]));
    if ((op.parameters || []).length) {
      var table = el("table", null, [el("tr", null, [el("th", null, ["name"]), el("th", null, ["in"]),
        el("th", null, ["type"]), el("th", null, ["about"])])]);
      op.parameters.forEach(function (p) {
        table.appendChild(el("tr", null, [el("td", "p", [p.name + (p.required ? " *" : "")]),
          el("td", null, [p["in"]]), el("td", "t", [typeText(p.schema)]),
          el("td", null, [[p.description || "", limits(p.schema || {})].filter(Boolean).join(" — ")])]));
      });
      body.appendChild(section("Parameters", [table]));
    }
    if (op.requestBody) {
      var media = op.requestBody.content["application/json"];
      body.appendChild(section("Body: " + typeText(media.schema),
        [schemaTree(media.schema, 0, [refName(media.schema.$ref || "")])]));
    }
    var rows = el("ul", "s");
    Object.keys(op.responses).forEach(function (status) {
      var r = op.responses[status];
      if (r.$ref) r = shared[refName(r.$ref)] || {};
      var types = Object.keys(r.content || {}).map(function (mt) {
        return mt + (r.content[mt].schema ? " (" + typeText(r.content[mt].schema) + ")" : "");
      });
      rows.appendChild(el("li", null, [el("code", null, [status]), " " + (r.description || ""),
        types.length ? el("span", "t", [" — " + types.join(", ")]) : ""]));
    });
    body.appendChild(section("Responses", [rows]));
    var summary = el("summary", null, [el("span", "m " + method, [method.toUpperCase()]),
      el("code", null, [path]), el("span", null, [op.summary || ""])]);
    return el("details", null, [summary, body]);
  }
  var header = el("header", null, [el("h1", null, [spec.info.title + " " + spec.info.version]),
    el("p", null, [spec.info.description || ""])]);
  var main = el("main");
  (spec.tags || []).forEach(function (tag) {
    var ops = [];
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        if ((op.tags || [])[0] === tag.name) ops.push(operation(path, method, op));
      });
    });
    if (ops.length) main.appendChild(el("section", null, [el("h2", null, [tag.name])].concat(ops)));
  });
  var models = el("section", null, [el("h2", null, ["Schemas"])]);
  Object.keys(schemas).forEach(function (name) {
    models.appendChild(el("details", null, [el("summary", null, [el("code", null, [name]),
      el("span", "t", [schemas[name].description || ""])]),
      el("div", "body", [schemaTree({$ref: "#/components/schemas/" + name}, 0, [name])])]));
  });
  main.appendChild(models);
  document.body.appendChild(header);
  document.body.appendChild(main);
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@cache
def docs_page() -> tuple[str, str]:
    """(HTML, Content-Security-Policy) of the docs page."""
    data = openapi.document_text().replace("</", "<\\/")
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>Hark Business API</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<script type="application/json" id="spec">{data}</script>'
        f"<noscript><p>This page renders the API document with a small script; the document itself "
        f'is at <a href="openapi.json">openapi.json</a>.</p></noscript>'
        f"<script>{SCRIPT}</script></body></html>"
    )
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(SCRIPT)}'; style-src '{_sha256(STYLE)}'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return html, csp


@bp.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    return Response(
        body=openapi.document_text(),
        status_code=200,
        headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
    )


@bp.route("/docs", methods=["GET"])
def api_docs() -> Response:
    html, csp = docs_page()
    return Response(
        body=html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "public, max-age=300",
        },
    )
