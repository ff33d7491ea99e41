"""Message selectors: the ``apache.org:selector-filter:string`` filter, parsed and evaluated.

A consumer's source may carry a selector (3.5.1 filter-set; descriptor
``apache.org:selector-filter:string``, code ``0x0000468C:0x00000004``, from the AMQP
filter registry): a JMS message selector, a subset of SQL-92 (JMS 1.1, 3.8.1).
:class:`Selector` parses one once, with a :class:`SelectorError` saying what is wrong
and where, then tells for each message whether it matches. Stdlib only, no I/O.

The text is parsed by :mod:`._selector_parse` (the grammar, with its positioned
errors) and evaluated by :mod:`._selector_eval` (the identifiers a selector reads,
its values and their semantics).

Hostile input is bounded: longer than :data:`MAX_LENGTH` or nested deeper than
:data:`MAX_DEPTH` is refused; parsing is one pass; AND, OR and arithmetic chains are
flat, so evaluation recurses no deeper than the nesting; LIKE never backtracks over ``%``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from amqp10_proto import Described, Message, Symbol, ULong

from ._selector_eval import _Fn, _Lookup
from ._selector_parse import MAX_DEPTH, SelectorError, _const, _Parser

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "SELECTOR_FILTER", "SELECTOR_FILTER_CODE", "Selector",
           "SelectorError", "SelectorFilter", "find_selector"]

#: The selector filter's descriptor, by name and by code (the AMQP filter registry).
SELECTOR_FILTER = Symbol("apache.org:selector-filter:string")
SELECTOR_FILTER_CODE = ULong(0x0000468C00000004)
#: The longest selector accepted, in characters.
MAX_LENGTH = 4096


# -- the public face -----------------------------------------------------------------

class Selector:
    """A parsed selector; :meth:`matches` tells whether a message satisfies it.

    ``Selector("color = 'red' AND weight > 2500")`` raises :class:`SelectorError` for a
    malformed selector, and TypeError for one that is not a str. An empty (or blank)
    selector selects every message, as JMS says of an empty selector.
    """

    __slots__ = ("_fn", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"a selector is a str, not {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise SelectorError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
        self.text = text
        self._fn: _Fn = _const(True) if not text.strip() else _Parser(text).parse()

    def __repr__(self) -> str:
        return f"Selector({self.text!r})"

    def evaluate(self, message: Message) -> bool | None:
        """The selector's value for ``message``: True, False, or None for unknown."""
        v = self._fn(_Lookup(message))
        return v if (v is True or v is False) else None

    def matches(self, message: Message) -> bool:
        """Whether ``message`` is selected (the selector is true for it, not unknown)."""
        return self._fn(_Lookup(message)) is True


class SelectorFilter(NamedTuple):
    """A selector found in a source's filter-set: its key and value (to echo in the
    answering attach, 3.5.1: the filters actually applied), and the parsed selector."""

    key: Any
    value: Any
    selector: Selector


def find_selector(filters: Any) -> SelectorFilter | None:
    """The selector filter of a source's filter-set (3.5.1), or None if it has none.

    The entry is found by its descriptor (``SELECTOR_FILTER`` by name or code), under
    whatever key the peer chose. Raises :class:`SelectorError` when that entry's value
    is not a string or is not a valid selector: the filter cannot be honoured, and a
    consumer must not silently get every message instead.
    """
    if not isinstance(filters, dict):
        return None
    for key, value in filters.items():
        if not isinstance(value, Described):
            continue
        if value.descriptor != SELECTOR_FILTER and value.descriptor != SELECTOR_FILTER_CODE:
            continue
        if not isinstance(value.value, str):
            raise SelectorError(f"the selector filter's value is a "
                                f"{type(value.value).__name__}, not a string", 0)
        return SelectorFilter(key, value, Selector(value.value))
    return None
