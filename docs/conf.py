"""Sphinx configuration for the amqp10 documentation.

The tests build it with ``sphinx-build -W --keep-going -n``: every warning is an
error and every cross reference must resolve. The code keeps its implementation in
private modules (``amqp10_proto._link`` ...) and re-exports the public names, so the
type hints autodoc reads name private paths; the handlers below point such a
reference at the public name the reference pages document, and leave a private base
class out of a class's "Bases" line in favour of its public ancestors.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import amqp10_proto  # noqa: E402

project = "amqp10"
author = "the amqp10 authors"
copyright = "the amqp10 authors"
release = amqp10_proto.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "examples"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# docs/state-diagrams.md is generated (tools/gen_diagrams.py) with {graphviz} fences:
# Graphviz's dot (Debian: graphviz) draws them at build time, as SVG images the pages
# load from _images/, so they need neither network nor JavaScript to show.
graphviz_output_format = "svg"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
# The public alias in signatures rather than the union it stands for, whose last member is
# the private type of the DEFAULT sentinel.
autodoc_type_aliases = {"SaslOption": "~amqp10_proto.client.SaslOption"}

nitpicky = True
# Standard-library and trio names in signatures: the build runs offline (no
# intersphinx inventories), so these are left as plain text. TypeVars likewise.
nitpick_ignore_regex = [
    (r"py:.*", r"(socket|ssl|threading|datetime|enum|uuid|typing|collections\.abc|_?asyncio"
               r"|trio|types)(\..+)?"),
    (r"py:class", r"amqp10_\w+(\.\w+)*\.[A-Z]"),  # type variables (one capital letter)
    # The private mixins behind the client layer's Sender/ReceiverBase (link recovery).
    (r"py:class", r"(amqp10_proto\._linkresume\.)?(Sender|Receiver)Resumption"),
]

html_theme = "alabaster"
html_title = f"amqp10 {release}"
html_theme_options = {
    "description": "AMQP 1.0 for Python",
    "fixed_sidebar": True,
    # Wide enough, with code in 0.8em, for a 100-character example line at 1280 px
    # (_static/custom.css wraps program output; tests/test_docs_browser.py measures).
    "page_width": "1160px",
    "body_max_width": "none",  # the basic theme's 800 px would undo the page width
    "code_font_size": "0.8em",
}
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # else browsers ask the server for /favicon.ico

# The public namespaces, in the order their names are preferred; each name resolves
# to the page that documents it (errors are documented under amqp10_proto.errors).
PUBLIC_MODULES = [
    "amqp10_proto.errors",
    "amqp10_proto",
    "amqp10_proto.codec",
    "amqp10_proto.performatives",
    "amqp10_proto.client",
    "amqp10_proto.trace",
    "amqp10_sync",
    "amqp10_asyncio",
    "amqp10_trio",
    "amqp10_cli",
]
ADAPTERS = ("amqp10_sync.", "amqp10_asyncio.", "amqp10_trio.")


def _public_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, type) or callable(obj):
                names.setdefault(id(obj), f"{modname}.{name}")
    return names


def _lookup(target: str) -> Any:
    """The object a dotted (possibly private, possibly aliased) name refers to, or None."""
    modname, _, attr = target.rpartition(".")
    if modname:
        module = sys.modules.get(modname)
        return getattr(module, attr, None) if module is not None else None
    # A bare name: an alias from a string annotation (``CoreSender``) or a short
    # name in a docstring (``:class:`EncodeError```). Take it if it is unambiguous.
    found = {id(m.__dict__[attr]): m.__dict__[attr] for m in list(sys.modules.values())
             if m is not None and m.__name__.startswith("amqp10") and attr in m.__dict__}
    return next(iter(found.values())) if len(found) == 1 else None


def _resolve_private(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """``missing-reference``: retry a private or aliased name as its public one."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    obj = _lookup(target)
    public = _public_names().get(id(obj)) if obj is not None else None
    if public is None and isinstance(obj, type) and obj.__name__ == "_Default":
        # The type of the ``DEFAULT`` sentinel ("choose for me"): point at the sentinel,
        # preferably the one of the module whose page refers to it.
        for modname in [node.get("py:module") or "", *PUBLIC_MODULES]:
            module = sys.modules.get(modname)
            if module is not None and isinstance(getattr(module, "DEFAULT", None), obj):
                public = f"{modname}.DEFAULT"
                node["reftype"] = "data"
                break
    if public is None or public == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], public,
                               node, contnode)


def _public_bases(app: Any, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """``autodoc-process-bases``: show public ancestors instead of private base classes."""
    names = _public_names()
    result: list[type] = []

    def add(base: type) -> None:
        base = getattr(base, "__origin__", base)  # Base[T] stands for its class
        if base is object or base in result:
            return
        private = base.__module__.startswith("amqp10") and id(base) not in names
        if private:
            for b in base.__bases__:
                add(b)
        else:
            result.append(base)

    for base in bases:
        add(base)
    bases[:] = result


def _qualify(obj: Any, text: str | None) -> str | None:
    """Bare class names in a signature, qualified by the package that exports them.

    A name imported only under ``TYPE_CHECKING`` stays a bare string in the signature
    (``core: Connection``), which Sphinx cannot place; the object's own package
    (``amqp10_proto``, ``amqp10_sync`` ...) says which one is meant.
    """
    modname = getattr(obj, "__module__", None) or ""
    module = sys.modules.get(modname)
    package = sys.modules.get(modname.split(".")[0])
    if not text or module is None or package is None or package is module:
        return text

    def qualify(m: re.Match[str]) -> str:
        name = m.group(1)
        if hasattr(module, name) or not hasattr(package, name):
            return name
        return f"{package.__name__}.{name}"

    return re.sub(r"(?<![\w.])([A-Z]\w*)", qualify, text)


def _public_text(text: str | None) -> str | None:
    """The DEFAULT sentinel as its public name: ``DEFAULT``, not ``_Default.DEFAULT``."""
    return re.sub(r"(?<![\w.])_Default\.DEFAULT\b", "DEFAULT", text) if text else text


def _process_signature(app: Any, what: str, name: str, obj: Any, options: Any,
                       signature: str | None, return_annotation: str | None) -> Any:
    """``autodoc-process-signature``: qualify bare names; no constructor for adapter classes.

    The adapters' objects are made by ``open_connection``, ``open_session`` ...; their
    constructors take core objects and are not for applications to call.
    """
    if what in ("class", "exception") and name.startswith(ADAPTERS):
        return "", None
    return (_public_text(_qualify(obj, signature)),
            _public_text(_qualify(obj, return_annotation)))


PRIVATE = re.compile(r"(?<![\w.])(?:_Default\b|amqp10_\w+(?:\.\w+)*\._\w+(?:\.\w+)*)")


def _public_titles(app: Any, doctree: Any, docname: str) -> None:
    """``doctree-resolved``: no private name where a reader sees it.

    Autodoc gives each re-exported class its defining module as a canonical name, so a
    link to it may carry ``amqp10_proto._errors.AMQPError`` as its tooltip: the public
    name replaces it. A private name left in a signature is a warning (an error in the
    tests' ``-W`` build) naming the page, so a new one cannot slip in.
    """
    from sphinx.util import logging

    def tagged(tagname: str) -> Any:
        return lambda node: getattr(node, "tagname", None) == tagname

    names = _public_names()
    for ref in doctree.findall(tagged("reference")):
        title = ref.get("reftitle", "")
        if PRIVATE.search(title):
            obj = _lookup(title)
            public = names.get(id(obj)) if obj is not None else None
            if public is not None:
                ref["reftitle"] = public
    for sig in doctree.findall(tagged("desc_signature")):
        titles = [r.get("reftitle", "") for r in sig.findall(tagged("reference"))]
        for text in (sig.astext(), *titles):
            if m := PRIVATE.search(text):
                logging.getLogger(__name__).warning(
                    "private name %r in the signature %r", m.group(), sig.astext()[:120],
                    location=(docname, sig.line))


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _resolve_private)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-signature", _process_signature)
    app.connect("doctree-resolved", _public_titles)
    return {"parallel_read_safe": True}
