"""Generate src/amqp10_proto/_definitions.py from the AMQP 1.0 spec XML.

Usage: python tools/gen_definitions.py [SPEC_DIR] [--check]

SPEC_DIR defaults to $AMQP10_SPEC_DIR or ../shared/spec beside the repository.
With --check, exit 1 if the committed module differs from what would be generated.
Every composite type becomes a slotted class with a specialised encoder and a
decoder that validates field types and applies the spec's defaults; restricted
types with choices become IntEnums (numeric) or classes of Symbol constants.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "src" / "amqp10_proto"
NS = "{http://www.amqp.org/schema/amqp.xsd}"
FILES = ["types.xml", "transport.xml", "messaging.xml", "security.xml", "transactions.xml"]

PRIMITIVES = {
    "null", "boolean", "ubyte", "ushort", "uint", "ulong", "byte", "short", "int", "long",
    "float", "double", "decimal32", "decimal64", "decimal128", "char", "timestamp", "uuid",
    "binary", "string", "symbol", "list", "map", "array",
}
INT_TYPES = {"ubyte": "UByte", "ushort": "UShort", "uint": "UInt", "ulong": "ULong"}
# Map-valued restricted types whose keys the spec types as symbols (fields, 3.2.x
# annotations take symbol or ulong keys).
SYMBOL_KEYED = {"fields", "node-properties", "filter-set"}
ANNOTATION_KEYED = {"annotations"}
# A "*" field whose archetype restricted types provide (message-id: ulong, uuid, binary,
# string, 3.2.11-3.2.15; address: string, 3.5.3; txn-id: binary, 4.5.1): each primitive's
# Python type, and the types the decoder may give for it. Any AMQP integer is taken for a
# ulong (a plain int is sent as long), a symbol for a string (kept, as received).
VALUE_TYPES = {
    "ulong": ("int", ["int", "Byte", "Short", "Int", "UByte", "UShort", "UInt", "ULong"]),
    "uuid": ("UUID", ["UUID"]),
    "binary": ("bytes", ["bytes"]),
    "string": ("str", ["str", "Symbol"]),
}


@dataclass
class Field:
    name: str
    type: str
    default: str | None
    mandatory: bool
    multiple: bool
    requires: str | None


@dataclass
class TypeDef:
    name: str
    klass: str
    source: str | None
    provides: list[str]
    code: int | None = None
    symbol: str | None = None
    fields: list[Field] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)


def load(spec_dir: Path) -> dict[str, TypeDef]:
    types: dict[str, TypeDef] = {}
    for fname in FILES:
        root = ET.parse(spec_dir / fname).getroot()
        for t in root.iter(NS + "type"):
            provides = [p.strip() for p in (t.get("provides") or "").split(",") if p.strip()]
            td = TypeDef(t.attrib["name"], t.attrib["class"], t.get("source"), provides)
            d = t.find(NS + "descriptor")
            if d is not None:
                hi, lo = d.attrib["code"].split(":")
                td.code = (int(hi, 16) << 32) | int(lo, 16)
                td.symbol = d.attrib["name"]
            for f in t.findall(NS + "field"):
                td.fields.append(Field(
                    f.attrib["name"], f.attrib["type"], f.get("default"),
                    f.get("mandatory") == "true", f.get("multiple") == "true",
                    f.get("requires"),
                ))
            for c in t.findall(NS + "choice"):
                td.choices.append((c.attrib["name"], c.attrib["value"]))
            types[td.name] = td
    return types


def camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-"))


def ident(name: str) -> str:
    return name.replace("-", "_")


def const(name: str) -> str:
    return name.replace("-", "_").replace(":", "_").upper()


class Gen:
    def __init__(self, types: dict[str, TypeDef]) -> None:
        self.types = types
        self.out: list[str] = []
        self.field_encoders: list[str] = []

    def w(self, line: str = "") -> None:
        self.out.append(line)

    def base(self, tname: str) -> str:
        """Resolve restricted types without choices down to a primitive."""
        seen = tname
        while seen not in PRIMITIVES and seen != "*":
            td = self.types[seen]
            if td.klass == "composite" or td.choices or seen in SYMBOL_KEYED | ANNOTATION_KEYED:
                return seen
            assert td.source is not None
            seen = td.source
        return seen

    def providers(self, archetype: str) -> list[str]:
        return [camel(t.name) for t in self.types.values()
                if t.klass == "composite" and archetype in t.provides]

    def value_providers(self, archetype: str) -> list[str]:
        """The primitives under the restricted types that provide ``archetype``, in order."""
        out: list[str] = []
        for t in self.types.values():
            if t.klass == "restricted" and archetype in t.provides:
                prim = self.base(t.name)
                if prim not in VALUE_TYPES:
                    raise SystemExit(f"unhandled provider {t.name} ({prim}) of {archetype}")
                out.append(prim)
        return out

    def value_group(self, archetype: str) -> tuple[str, str]:
        """(annotation, frozenset of decoded types) of a value archetype such as message-id."""
        prims = self.value_providers(archetype)
        ann = " | ".join(VALUE_TYPES[p][0] for p in prims)
        decoded = [t for p in prims for t in VALUE_TYPES[p][1]]
        return ann, f"frozenset(({''.join(t + ', ' for t in decoded)}))"

    # -- what each field type means in Python ------------------------------------
    def field_info(self, owner: str, f: Field) -> tuple[str, str, str]:
        """(annotation, encoder expression of x, decode expression of x).

        The decode expression runs only when ``x`` is not already of the
        expected Python type, so the common case costs one type test.
        """
        b = self.base(f.type)
        where = f'"{owner}.{f.name}"'
        d = self.default_expr(f)
        tail = f"{where}, {d}" if d is not None else where
        if f.mandatory:
            tail += ", mandatory=True"
        if f.type == "*":
            provs = self.providers(f.requires) if f.requires else []
            if provs:
                ann = " | ".join([*provs, "Described"])
                group = "_" + const(f.requires or "") + "_TYPES"
                return ann, "_e_any(x)", f"x if type(x) in {group} else _c_none(x, {tail})"
            if f.requires and self.value_providers(f.requires):
                # Encoded as given (a symbol address stays one); decoded values checked.
                ann = self.value_group(f.requires)[0]
                group = "_" + const(f.requires) + "_TYPES"
                return ann, "_e_any(x)", f"x if type(x) in {group} else _c_none(x, {tail})"
            return "Any", "_e_any(x)", ("x if x is not None else _c_none(x, " + tail + ")"
                                        if f.mandatory else "x")
        td = self.types.get(b)
        if td is not None and td.klass == "composite":
            ann = camel(b)
            return ann, "_e_any(x)", f"x if type(x) is {ann} else _c_none(x, {tail})"
        if td is not None and td.choices and td.source != "symbol":
            enum = camel(b)
            src = self.base(td.source or "")
            enc = {"boolean": "(b'\\x41' if x else b'\\x42')", "ubyte": "_e_ubyte(x)", "uint": "_e_uint(x)"}[src]
            conv = "_c_bool_enum" if src == "boolean" else "_c_enum"
            return enum, enc, f"x if type(x) is {enum} else {conv}({enum}, x, {tail})"
        if td is not None and td.choices:  # a symbol with named values
            b = "symbol"
        if b in SYMBOL_KEYED or b in ANNOTATION_KEYED or b == "map":
            enc = ("_e_symbol_map(x)" if b in SYMBOL_KEYED else
                   "_e_annotations(x)" if b in ANNOTATION_KEYED else "_e_any(x)")
            return "dict[Any, Any]", enc, f"x if type(x) is dict else _c_map(x, {tail})"
        if b == "boolean":
            return "bool", "(b'\\x41' if x else b'\\x42')", (
                f"x if type(x) is bool else _c_bool(x, {tail})")
        if b in INT_TYPES:
            cls = INT_TYPES[b]
            return "int", f"_e_{b}(x)", f"x if type(x) is {cls} else _c_int({cls}, x, {tail})"
        if b == "string":
            return "str", "_e_string(x)", f"x if type(x) is str else _c_str(x, {tail})"
        if b == "symbol":
            return "str", "_e_symbol(x)", f"x if type(x) is Symbol else _c_symbol(x, {tail})"
        if b == "binary":
            return "bytes", "_e_binary(x)", f"x if type(x) is bytes else _c_bytes(x, {tail})"
        if b == "timestamp":
            return "datetime | Timestamp", "_e_timestamp(x)", (
                f"x if type(x) is datetime else _c_timestamp(x, {tail})")
        raise SystemExit(f"unhandled field type {f.type} ({b})")

    def decode_expr(self, f: Field, i: int, dec: str) -> str:
        """The decode expression for field ``i``, with null handled inline (the common case)."""
        if dec == "x":
            return f"items[{i}]"
        head, _, call = dec.partition(" else ")
        if head.startswith("x if x is not None"):  # a mandatory "*" field
            return f"x if (x := items[{i}]) is not None else {call}"
        test = head[len("x if "):].replace("type(x)", f"type(x := items[{i}])", 1)
        if f.mandatory:
            return f"x if {test} else {call}"
        d = self.default_expr(f)
        if d is not None:
            return f"x if {test} else ({d} if x is None else {call})"
        return f"x if (x := items[{i}]) is None or {head[len('x if '):]} else {call}"

    def default_expr(self, f: Field) -> str | None:
        if f.default is None:
            return None
        b = self.base(f.type)
        td = self.types.get(b)
        if td is not None and td.choices and td.source != "symbol":
            for name, _ in td.choices:
                if name == f.default:
                    return f"{camel(b)}.{const(name)}"
            raise SystemExit(f"bad default {f.default} for {f.name}")
        if td is not None and td.choices:
            for name, value in td.choices:
                if name == f.default:
                    return f"Symbol({value!r})"
        if b == "boolean":
            return {"true": "True", "false": "False"}[f.default]
        if b in INT_TYPES:
            return f"{INT_TYPES[b]}({int(f.default)})"
        raise SystemExit(f"unhandled default {f.default} for {f.name}")

    # -- code -------------------------------------------------------------------
    def gen_enum(self, td: TypeDef) -> None:
        name = camel(td.name)
        self.w(f"class {name}(enum.IntEnum):")
        self.w(f'    """AMQP ``{td.name}`` (restricted {td.source})."""')
        self.w()
        for cname, value in td.choices:
            v = {"false": "0", "true": "1"}.get(value, value)
            self.w(f"    {const(cname)} = {v}")
        self.w()
        self.w()

    def gen_symbols(self, name: str, doc: str, choices: list[tuple[str, str]]) -> None:
        self.w(f"class {name}:")
        self.w(f'    """{doc}"""')
        self.w()
        for value in sorted({v for _, v in choices}, key=lambda v: [c[1] for c in choices].index(v)):
            cname = value[5:] if value.startswith("amqp:") else value
            self.w(f"    {const(cname)} = Symbol({value!r})")
        self.w()
        self.w()

    def gen_composite(self, td: TypeDef) -> None:
        cls = camel(td.name)
        fields = td.fields
        names = [ident(f.name) for f in fields]
        infos = [self.field_info(td.name, f) for f in fields]
        anns = []
        for f, (ann, _, _) in zip(fields, infos):
            if f.multiple:
                ann = f"list[{ann}]"
            has_value = f.mandatory or self.default_expr(f) is not None
            anns.append(ann if has_value or ann == "Any" else ann + " | None")
        w = self.w
        w(f"class {cls}(_Composite):")
        w(f'    """AMQP ``{td.name}`` ({td.symbol}, 0x{td.code:08x})."""')
        w()
        w(f"    __slots__ = ({''.join(repr(n) + ', ' for n in names)})")
        w("    _FIELDS: ClassVar[tuple[str, ...]] = __slots__")
        w(f"    DESCRIPTOR: ClassVar[int] = 0x{td.code:x}")
        w(f"    SYMBOL: ClassVar[str] = {td.symbol!r}")
        defaults = [self.default_expr(f) for f in fields]
        w("    _DEFAULTS: ClassVar[tuple[Any, ...]] = ("
          + "".join(f"{d if d is not None else 'None'}, " for d in defaults) + ")")
        if fields:
            w()
            for n, a in zip(names, anns):
                w(f"    {n}: {a}")
            w()
            w("    def __init__(")
            w("        self,")
            w("        *,")
            for f, n, a, d in zip(fields, names, anns, defaults):
                if f.mandatory:
                    w(f"        {n}: {a},")
                else:
                    w(f"        {n}: {a} = {d if d is not None else 'None'},")
            w("    ) -> None:")
            for n in names:
                w(f"        self.{n} = {n}")
        w()
        w()
        prefix = f"b'\\x00\\x53\\x{td.code:02x}'"
        encs = []
        for f, (_, enc, _) in zip(fields, infos):
            e = enc[:-3] if enc.endswith("(x)") else f"lambda x: {enc}"
            encs.append(f"lambda x: _e_multiple(x, {e})" if f.multiple else e)
        self.field_encoders.append(f"{cls}._FIELD_ENCODERS = ({''.join(e + ', ' for e in encs)})")
        fn = f"_enc_{ident(td.name)}"
        w(f"def {fn}(v: {cls}) -> bytes:")
        if not fields:
            w(f"    return {prefix} + b'\\x45'")
        else:
            w("    x: Any")
            w("    try:")
            w(f"        return _composite({prefix}, [")
            for f, n, (_, enc, _), d in zip(fields, names, infos, defaults):
                if f.multiple:
                    enc = f"_e_multiple(x, {enc[:-3]})"
                cond = f"(x := v.{n}) is None"
                if d is not None:
                    cond += f" or x {'is' if d in ('True', 'False') else '=='} {d}"
                w(f"            _NULL if {cond} else {enc},")
            w("        ])")
            w("    except (AMQPError, TypeError, ValueError, AttributeError, struct.error) as exc:")
            w(f'        raise _locate(exc, v, "{td.name}") from None')
        w()
        w()
        dn = f"_dec_{ident(td.name)}"
        w(f"def {dn}(items: Any) -> {cls}:")
        w("    if type(items) is not list:")
        w(f'        raise _not_list(items, "{td.name}")')
        w(f"    v = _new({cls})")
        if fields:
            w("    x: Any")
            k = len(fields)
            w(f"    if len(items) < {k}:")
            w(f"        items = items + _NONES[:{k} - len(items)]")
            for i, (f, n, (_, _, dec)) in enumerate(zip(fields, names, infos)):
                if f.multiple:
                    elem = dec.replace("(x, ", "(x0, ").replace("x if type(x)", "x0 if type(x0)")
                    elem = elem.replace(", mandatory=True", "")
                    mand = ", mandatory=True" if f.mandatory else ""
                    w(f'    v.{n} = _multiple(items[{i}], "{td.name}.{f.name}"{mand}, '
                      f"check=lambda x0: {elem})")
                else:
                    w(f"    v.{n} = {self.decode_expr(f, i, dec)}")
        w("    return v")
        w()
        w()
        w(f"register_encoder({cls}, {fn})")
        w(f"register_described(0x{td.code:x}, {td.symbol!r}, {dn})")
        w()
        w()

    def header(self, doc: str, imports: list[str]) -> None:
        w = self.w
        w(f'"""{doc}')
        w()
        w("Generated from the AMQP 1.0 spec XML by ``tools/gen_definitions.py``; do not edit")
        w("(a test checks that it is current).")
        w('"""')
        w()
        w("# fmt: off")
        w("# ruff: noqa: E501")
        w("from __future__ import annotations")
        w()
        for line in imports:
            w(line)
        w()

    def all_list(self, names: list[str]) -> None:
        self.w("__all__ = [")
        for n in sorted(names):
            self.w(f"    {n!r},")
        self.w("]")
        self.w()
        self.w()

    def finish(self) -> str:
        for line in self.field_encoders:
            self.w(line)
        self.field_encoders = []
        text = "\n".join(self.out).rstrip() + "\n"
        self.out = []
        return text

    def run(self) -> dict[str, str]:
        composites = [td for td in self.types.values() if td.klass == "composite"]
        frames = [td for td in composites if "frame" in td.provides or "sasl-frame" in td.provides]
        others = sorted((td for td in composites if td not in frames),
                        key=lambda t: 0 if t.name == "error" else 1)
        enums = [td for td in self.types.values()
                 if td.klass == "restricted" and td.choices and td.source != "symbol"]
        common = [
            "import enum",
            "import struct",
            "from datetime import datetime",
            "from typing import Any, ClassVar",
            "",
            "from ._decoder import register_described",
            "from ._encoder import (",
            "    _e_any, _e_binary, _e_bool, _e_string, _e_symbol, _e_timestamp, _e_ubyte,",
            "    _e_uint, _e_ulong, _e_ushort, register_encoder,",
            ")",
            "from ._composite import (",
            "    _NONES, _NULL, _c_bool, _c_bool_enum, _c_bytes, _c_enum, _c_int, _c_map, _c_none, _c_str, _c_symbol,",
            "    _c_timestamp, _Composite, _composite, _e_annotations, _e_multiple,",
            "    _e_symbol_map, _locate, _multiple, _new, _not_list,",
            ")",
            "from ._errors import AMQPError",
            "from ._types import Described, Symbol, Timestamp, UByte, UInt, ULong, UShort",
        ]
        # Archetypes whose providers are restricted types (message-id, address, txn-id).
        value_groups = sorted({f.requires for td in composites for f in td.fields
                               if f.type == "*" and f.requires
                               and self.value_providers(f.requires)})
        if any(f.requires in value_groups for td in frames for f in td.fields):
            raise SystemExit("a frame field needs a value group: import it in _performatives")
        out: dict[str, str] = {}
        # _definitions.py: enums, symbol constants, and the non-frame composites.
        defs_imports = [line.replace("from typing import Any, ClassVar",
                                     "from typing import Any, ClassVar\nfrom uuid import UUID")
                        .replace("from ._types import Described,",
                                 "from ._types import Byte, Described, Int, Short,")
                        for line in common]
        self.header("AMQP 1.0 restricted and composite types other than frame bodies.",
                     defs_imports)
        error_choices: list[tuple[str, str]] = []
        for td in self.types.values():
            if "error-condition" in td.provides:
                error_choices += td.choices
        groups: dict[str, list[str]] = {"delivery-state": [], "outcome": [], "source": [],
                                         "target": []}
        for g in groups:
            groups[g] = self.providers(g)
        self.all_list([camel(t.name) for t in enums] + [camel(t.name) for t in others]
                      + ["ErrorCondition", "TerminusExpiryPolicy", "DistributionMode",
                         "TxnCapability"]
                      + ["_" + const(g) + "_TYPES" for g in [*groups, *value_groups]])
        for td in enums:
            self.gen_enum(td)
        self.gen_symbols("ErrorCondition",
                         "Standard AMQP error conditions (2.8.15 - 2.8.18, 4.5.8).", error_choices)
        self.gen_symbols("TerminusExpiryPolicy", "AMQP ``terminus-expiry-policy`` (3.5.6).",
                         self.types["terminus-expiry-policy"].choices)
        self.gen_symbols("DistributionMode", "AMQP ``std-dist-mode`` (3.5.7).",
                         self.types["std-dist-mode"].choices)
        self.gen_symbols("TxnCapability", "AMQP ``txn-capability`` (4.5.7).",
                         self.types["txn-capability"].choices)
        for td in others:
            self.gen_composite(td)
        for g, provs in groups.items():
            self.w(f"_{const(g)}_TYPES = frozenset(({''.join(p + ', ' for p in provs)}Described))")
        for g in value_groups:
            self.w(f"_{const(g)}_TYPES = {self.value_group(g)[1]}")
        self.w()
        out["_definitions.py"] = self.finish()
        # _performatives.py: the frame bodies of transport.xml and security.xml.
        names = sorted({camel(t.name) for t in enums} | {camel(t.name) for t in others}
                       | {"_" + const(g) + "_TYPES" for g in groups})
        imports = [*common, "", "from ._definitions import (",
                   *[f"    {n}," for n in names], ")"]
        self.header("AMQP 1.0 frame bodies: the performatives (2.7) and SASL frames (5.3.3).",
                    imports)
        self.all_list([camel(t.name) for t in frames])
        for td in frames:
            self.gen_composite(td)
        out["_performatives.py"] = self.finish()
        return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    spec_dir = Path(args[0]) if args else Path(
        os.environ.get("AMQP10_SPEC_DIR", ROOT.parent / "shared" / "spec"))
    outputs = Gen(load(spec_dir)).run()
    stale = []
    for name, text in outputs.items():
        path = OUT_DIR / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}; run python tools/gen_definitions.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
