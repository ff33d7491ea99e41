"""The embedded broker's selector filter (apache.org:selector-filter:string), on its own.

A table of selectors with their value over sample messages (three-valued logic
included), the header and properties fields each predefined name reads, malformed
selectors with where they go wrong, hostile selectors and messages, and hypothesis
checking the evaluator against a small reference model over random expressions.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amqp10_cli._selector import (
    MAX_DEPTH,
    MAX_LENGTH,
    SELECTOR_FILTER,
    SELECTOR_FILTER_CODE,
    Selector,
    SelectorError,
    find_selector,
)
from amqp10_proto import Described, Header, Message, Properties, Symbol, Timestamp, UByte, ULong
from amqp10_proto.codec import encode

# -- the table -----------------------------------------------------------------------

SAMPLE = Message(
    b"body",
    header=Header(durable=True, priority=UByte(7), delivery_count=2),
    properties=Properties(message_id="ID:1", correlation_id="abc", subject="order",
                          to="orders", reply_to="replies", content_type="text/plain",
                          user_id=b"alice", group_id="g1", group_sequence=3,
                          creation_time=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)),
    application_properties={"color": "red", "weight": 2500, "ratio": 0.5, "flag": True,
                            "off": False, "big": ULong(2**64 - 1), "quote": "it's",
                            "pct": "100%", "empty": ""},
    message_annotations={Symbol("x-opt-offset"): "120"},
)

#: (selector, value over SAMPLE): True, False, or None for unknown.
TABLE: list[tuple[str, bool | None]] = [
    # comparison, types, literals
    ("color = 'red'", True),
    ("color <> 'red'", False),
    ("color = 'Red'", False),  # strings are compared exactly
    ("weight = 2500", True),
    ("weight = 2500.0", True),  # exact and approximate numbers compare
    ("weight = 25e2", True),
    ("weight > 2499.5 AND weight < 2500.5", True),
    ("weight >= 2500 AND weight <= 2500", True),
    ("ratio * 2 = 1", True),
    ("weight = '2500'", False),  # a number is never a string
    ("flag = TRUE", True),
    ("flag = 1", False),  # nor a boolean
    ("flag > off", False),  # booleans are only equal or not (JMS 3.8.1.1)
    ("flag <> off", True),
    ("flag", True),
    ("off", False),
    ("color = 'red' AND flag", True),
    ("quote = 'it''s'", True),
    ("empty = ''", True),
    ("color > 'blue'", True),  # strings order by code point, as ActiveMQ's parser does
    ("weight = 0x9C4", True),
    ("weight = 04704", True),  # Java: a leading 0 is octal
    ("weight = 2500L", True),
    ("big > 1e19", True),  # a ulong beyond a long reads as a double
    ("TRUE", True),
    ("false", False),
    ("", True),  # JMS: an empty selector selects everything
    # arithmetic
    ("weight + 500 = 3000", True),
    ("weight - -500 = 3000", True),
    ("-weight = -2500", True),
    ("+weight = 2500", True),
    ("weight / 1000 = 2", True),  # integer division truncates
    ("-weight / 1000 = -2", True),  # toward zero
    ("weight / 1000.0 = 2.5", True),
    ("2 + 3 * 4 = 14", True),  # * before +
    ("(2 + 3) * 4 = 20", True),
    ("10 - 2 - 3 = 5", True),  # left to right
    ("9223372036854775807 + 1 = -9223372036854775808", True),  # a Java long wraps
    ("weight / 0 = 1", None),  # division by zero: unknown
    ("color + 1 = 2", None),  # arithmetic on a string: unknown
    # three-valued logic: a missing property is NULL
    ("missing = 1", None),
    ("missing <> 1", None),
    ("NOT missing = 1", None),
    ("missing = 1 AND FALSE", False),
    ("missing = 1 AND TRUE", None),
    ("missing = 1 OR TRUE", True),
    ("missing = 1 OR FALSE", None),
    ("NOT (missing = 1 OR FALSE)", None),
    ("missing + 1 > 0", None),
    ("missing", None),
    ("missing IS NULL", True),
    ("missing IS NOT NULL", False),
    ("color IS NULL", False),
    ("color IS NOT NULL", True),
    ("(missing = 1) IS NULL", True),
    ("NOT flag OR missing > 1", None),
    ("NOT NOT flag", True),
    ("a = 1 OR b = 2 AND FALSE", None),  # AND before OR: a = 1 OR (b = 2 AND FALSE)
    ("(a = 1 OR b = 2) AND FALSE", False),
    ("NOT weight = 2500 OR TRUE", True),  # NOT binds the comparison, not the OR
    # BETWEEN
    ("weight BETWEEN 2000 AND 3000", True),
    ("weight BETWEEN 2500 AND 2500", True),
    ("weight NOT BETWEEN 2000 AND 3000", False),
    ("weight BETWEEN 3000 AND 4000", False),
    ("missing BETWEEN 1 AND 2", None),
    ("missing NOT BETWEEN 1 AND 2", None),
    ("weight BETWEEN missing AND 1", False),  # unknown AND false is false
    ("weight BETWEEN missing AND 3000", None),
    ("color BETWEEN 'a' AND 'z'", True),
    # IN
    ("color IN ('green', 'red')", True),
    ("color NOT IN ('green', 'red')", False),
    ("color IN ('green')", False),
    ("missing IN ('red')", None),
    ("missing NOT IN ('red')", None),
    ("weight IN (1, 2500)", True),
    ("weight IN ('2500')", False),
    # LIKE
    ("color LIKE 'r%'", True),
    ("color LIKE 'r_d'", True),
    ("color LIKE '_'", False),
    ("color LIKE '%'", True),
    ("empty LIKE '%'", True),
    ("empty LIKE '_%'", False),
    ("color NOT LIKE 'r%'", False),
    ("color LIKE '%e%'", True),
    ("color LIKE 'red%red'", False),  # the pieces may not overlap
    ("color LIKE '%d%d'", False),
    ("color LIKE '%e%e%'", False),
    ("color LIKE '%r%d'", True),
    ("pct LIKE '100!%' ESCAPE '!'", True),
    ("pct LIKE '1!%' ESCAPE '!'", False),
    ("pct LIKE '%!%' ESCAPE '!'", True),
    ("quote LIKE 'it''_'", True),
    ("missing LIKE 'a%'", None),
    ("missing NOT LIKE 'a%'", None),
    ("weight LIKE '2%'", False),  # LIKE on a number: unlike types
    # keywords are case-insensitive, identifiers are not
    ("Color = 'red'", None),
    ("color = 'red' and weight between 1 and 9999 or false", True),
    # the header and properties fields
    ("JMSPriority = 7 AND amqp.priority = 7 AND AMQPriority = 7", True),
    ("JMSDeliveryMode = 'PERSISTENT' AND amqp.delivery_mode = 'PERSISTENT'", True),
    ("AMQDurable = 'DURABLE' AND amqp.durable", True),
    ("JMSRedelivered AND amqp.redelivered AND JMSXDeliveryCount = 3", True),
    ("JMSMessageID = 'ID:1' AND AMQUserID = 'ID:1' AND amqp.message_id = 'ID:1'", True),
    ("JMSCorrelationID = 'abc' AND amqp.correlation_id = 'abc'", True),
    ("JMSType = 'order' AND amqp.subject = 'order'", True),
    ("JMSDestination = 'orders' AND amqp.to = 'orders'", True),
    ("JMSReplyTo = 'replies' AND amqp.reply_to = 'replies'", True),
    ("JMSTimestamp = 1704153600000 AND AMQTimestamp = 1704153600000", True),
    ("amqp.creation_time = 1704153600000", True),
    ("JMSExpiration IS NULL AND AMQExpiration = 0", True),
    ("JMSXUserID = 'alice' AND amqp.user_id = 'alice'", True),
    ("JMSXGroupID = 'g1' AND AMQGroupID = 'g1' AND JMSXGroupSeq = 3", True),
    ("amqp.content_type = 'text/plain' AND amqp.content_encoding IS NULL", True),
    ("amqp.ttl IS NULL AND NOT amqp.first_acquirer", True),
    ("amqp.annotation.x-opt-offset = '120'", True),
    ("amqp.annotation.x-opt-offset > '-1'", True),
    ("amqp.annotation.x-opt-other IS NULL", True),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_the_table(text: str, expected: bool | None) -> None:
    selector = Selector(text)
    assert selector.evaluate(SAMPLE) is expected
    assert selector.matches(SAMPLE) is (expected is True)


def test_a_message_without_header_reads_the_defaults_and_null_properties() -> None:
    bare = Message(b"x")
    for text, expected in [("JMSPriority = 4", True), ("JMSDeliveryMode = 'NON_PERSISTENT'", True),
                           ("AMQDurable = 'NON_DURABLE'", True), ("JMSRedelivered", False),
                           ("JMSXDeliveryCount = 1", True), ("JMSMessageID IS NULL", True),
                           ("JMSType = 'x'", None), ("color IS NULL", True),
                           ("amqp.annotation.x IS NULL", True)]:
        assert Selector(text).evaluate(bare) is expected, text


@pytest.mark.parametrize(("message_id", "text"), [
    (ULong(42), "JMSMessageID = 42"),
    (uuid.UUID(int=1), "JMSMessageID = '00000000-0000-0000-0000-000000000001'"),
    (b"\x00\x01", "JMSMessageID IS NULL"),  # binary: NULL to a selector
    ("ID:x", "JMSMessageID LIKE 'ID:%'"),
])
def test_message_ids_of_each_type(message_id: Any, text: str) -> None:
    msg = Message(b"x", properties=Properties(message_id=message_id, correlation_id=message_id))
    assert Selector(text).matches(msg)
    assert Selector(text.replace("JMSMessageID", "JMSCorrelationID")).matches(msg)


def test_values_a_selector_cannot_read_are_null() -> None:
    msg = Message(b"x", properties=Properties(user_id=b"\xff\xfe",
                                              creation_time=Timestamp(-5)),
                  application_properties={"bin": b"abc", "when": Timestamp(1000),
                                          "sym": Symbol("s"), "u": uuid.UUID(int=3)})
    assert Selector("JMSXUserID IS NULL").matches(msg)  # not UTF-8
    assert Selector("JMSTimestamp = -5").matches(msg)
    assert Selector("bin IS NULL AND u IS NULL").matches(msg)
    assert Selector("when = 1000 AND sym = 's'").matches(msg)


# -- malformed selectors -------------------------------------------------------------

@pytest.mark.parametrize(("text", "position", "reason"), [
    ("color = 'red", 8, "unterminated string literal"),
    ("a >", 3, "expected a value, an identifier or (, found the end"),
    ("a = 1 b", 6, "expected AND, OR or the end, found 'b'"),
    ("((a = 1)", 8, "expected ), found the end"),
    ("a = 1)", 5, "expected AND, OR or the end, found ')'"),
    ("'x'", 0, "a selector must be a condition, not a string"),
    ("5 + 1", 0, "a selector must be a condition, not a number"),
    ("1 = 'a'", 2, "= compares a number with a string"),
    ("TRUE < 1", 0, "< compares numbers or strings, not a boolean"),
    ("a + 'x' = 1", 4, "arithmetic needs numbers, not a string"),
    ("-'x' = 1", 1, "a sign needs a number, not a string"),
    ("a AND 5", 6, "AND needs conditions, not a number"),
    ("NOT 'x'", 4, "NOT needs a condition, not a string"),
    ("a = 09", 4, "09 is not an octal number"),
    ("a = 9223372036854775808", 4, "9223372036854775808 is beyond a 64-bit integer"),
    ("a = 1e999", 4, "1e999 is beyond a double"),
    ("12abc = 1", 0, "malformed number '12a'"),
    ("a = #", 4, "unexpected character '#'"),
    ("a = \"x\"", 4, "unexpected character '\"'"),
    ("amqp.foo = 1", 0, "amqp.foo names no AMQP header or properties field"),
    ("a IS 5", 5, "expected NULL after IS, found '5'"),
    ("a NOT 5", 6, "expected BETWEEN, IN or LIKE after NOT"),
    ("a IN ()", 6, "expected a string or number literal, found ')'"),
    ("a IN ('x' 'y')", 10, "expected , or ) in the IN list"),
    ("a IN (b)", 6, "expected a string or number literal, found 'b'"),
    ("a LIKE b", 7, "expected a string pattern after LIKE"),
    ("a LIKE 'x!' ESCAPE '!'", 7, "the pattern ends with its escape character"),
    ("a LIKE 'x' ESCAPE 'ab'", 18, "the ESCAPE string must be one character"),
    ("a LIKE 5", 7, "expected a string pattern after LIKE"),
    ("5 LIKE 'x'", 0, "LIKE tests a string, not a number"),
    ("a BETWEEN 1 OR 2", 12, "expected AND in BETWEEN ... AND ..."),
    ("AND = 1", 0, "expected a value, an identifier or (, found 'AND'"),
])
def test_malformed_selectors_say_what_and_where(text: str, position: int, reason: str) -> None:
    with pytest.raises(SelectorError) as info:
        Selector(text)
    assert info.value.position == position
    assert info.value.reason.startswith(reason), info.value.reason
    assert isinstance(info.value, ValueError)
    assert f"(at position {position})" in str(info.value)


def test_a_selector_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="a selector is a str, not bytes"):
        Selector(b"a = 1")  # type: ignore[arg-type]


# -- hostile input -------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "(" * 2000 + "a = 1" + ")" * 2000,
    "NOT " * 1000 + "a",
    "- " * 2000 + "1 = 1",
    "a = 1 AND (" * 300 + "a = 1" + ")" * 300,
])
def test_deep_nesting_is_refused_not_a_crash(text: str) -> None:
    assert len(text) <= MAX_LENGTH
    with pytest.raises(SelectorError, match=f"nested deeper than {MAX_DEPTH}"):
        Selector(text)


def test_a_selector_beyond_the_length_limit_is_refused_before_parsing() -> None:
    with pytest.raises(SelectorError, match=f"longer than {MAX_LENGTH} characters") as info:
        Selector("(" * 100_000 + "a = 1" + ")" * 100_000)
    assert info.value.position == MAX_LENGTH


def test_the_nesting_limit_is_exact() -> None:
    ok = "(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH
    assert Selector(ok).matches(Message(b"", application_properties={"a": 1}))
    with pytest.raises(SelectorError, match=f"nested deeper than {MAX_DEPTH}"):
        Selector("(" + ok + ")")


def test_the_length_limit() -> None:
    with pytest.raises(SelectorError, match=f"longer than {MAX_LENGTH} characters"):
        Selector("a = 1" + " " * MAX_LENGTH)
    long_chain = " OR ".join(["a = 1"] * ((MAX_LENGTH - 5) // 10))
    assert len(long_chain) <= MAX_LENGTH
    assert Selector(long_chain).matches(Message(b"", application_properties={"a": 1}))


def test_long_flat_chains_evaluate_without_recursion() -> None:
    """Chains as long as the length limit allows: AND, OR and arithmetic are flat."""
    n = (MAX_LENGTH - 10) // 4
    sums = Selector(" + ".join(["a"] * n) + f" = {n}")
    assert sums.matches(Message(b"", application_properties={"a": 1}))
    products = Selector(" * ".join(["a"] * n) + " > 0")
    # 2 ** n wraps as a Java long: 0, so not > 0; and the number stays 64-bit.
    assert products.evaluate(Message(b"", application_properties={"a": 2})) is False


def test_like_with_many_wildcards_on_a_long_value_is_quick() -> None:
    """No backtracking over %: the classic exponential case stays linear (a hang guard)."""
    pattern = "%a" * 1000 + "%b"
    selector = Selector(f"s LIKE '{pattern}'")
    msg = Message(b"", application_properties={"s": "a" * 200_000})
    started = time.monotonic()
    assert selector.evaluate(msg) is False
    assert selector.matches(Message(b"", application_properties={"s": "a" * 1000 + "b"}))
    assert time.monotonic() - started < 30  # a hang guard, not a performance bound


def test_a_message_with_a_malformed_section_matches_nothing() -> None:
    """3.2.5: application-properties keys are strings; decoding this one fails lazily."""
    # application-properties {1: "x"} (smalllong key), then a data section b"body".
    raw = bytes.fromhex("005374c106025501a101780053" "75a004626f6479")
    assert raw == (encode(Described(ULong(0x74), {1: "x"}))
                   + encode(Described(ULong(0x75), b"body")))
    msg = Message.decode(raw)
    selector = Selector("color = 'red' OR color IS NULL")
    assert selector.evaluate(msg) is True  # read as no properties at all
    assert Selector("color = 'red'").matches(msg) is False


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*"ab1'%_()=<>+-*/ .,!eEx0L$\u00e9\n#\"",
                                " NOT ", " AND ", " OR ", " IN ", " LIKE ", " BETWEEN ",
                                " IS ", " NULL ", " ESCAPE ", " TRUE ", "amqp.", "JMS"]),
                max_size=40).map("".join))
def test_any_text_parses_or_raises_selector_error(text: str) -> None:
    try:
        selector = Selector(text)
    except SelectorError as exc:
        assert 0 <= exc.position <= len(text)
        return
    result = selector.evaluate(Message(b"", application_properties={"a": 1, "b": "x"}))
    assert result in (True, False, None)


# -- finding the selector in a filter-set ---------------------------------------------

def test_find_selector_by_descriptor_name_or_code_under_any_key() -> None:
    by_name = Described(SELECTOR_FILTER, "color = 'red'")
    found = find_selector({Symbol("jms-selector"): by_name,
                           Symbol("other"): Described(Symbol("x:y"), "z")})
    assert found is not None
    assert found.key == "jms-selector" and found.value is by_name
    assert found.selector.text == "color = 'red'"
    by_code = Described(SELECTOR_FILTER_CODE, "a = 1")
    found = find_selector({Symbol("apache.org:selector-filter:string"): by_code})
    assert found is not None and found.selector.matches(
        Message(b"", application_properties={"a": 1}))
    assert find_selector(None) is None
    assert find_selector({Symbol("com.microsoft:session-filter"): "s1"}) is None


def test_find_selector_refuses_what_it_cannot_honour() -> None:
    with pytest.raises(SelectorError, match="value is a bytes, not a string"):
        find_selector({Symbol("s"): Described(SELECTOR_FILTER, b"a = 1")})
    with pytest.raises(SelectorError, match="unterminated string literal"):
        find_selector({Symbol("s"): Described(SELECTOR_FILTER, "a = 'x")})


# -- the evaluator against a reference model --------------------------------------------

I64 = 1 << 63


def ref_wrap(n: int) -> int:
    return (n + I64) % (2 * I64) - I64


def kind(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "bool"
    return "num" if isinstance(v, (int, float)) else "str"


def ref_arith(op: str, a: Any, b: Any) -> Any:
    if kind(a) != "num" or kind(b) != "num":
        return None
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        if op == "/":
            return None if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[op]
    if op == "/":
        return None if b == 0 else ref_wrap(math.trunc(Fraction(a, b)))
    return ref_wrap({"+": a + b, "-": a - b, "*": a * b}[op])


def ref_compare(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if kind(a) != kind(b):
        return False
    if kind(a) == "bool" and op not in ("=", "<>"):
        return False
    if kind(a) == "num" and (isinstance(a, float) or isinstance(b, float)):
        a, b = float(a), float(b)
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def tv(v: Any) -> Any:
    return v if isinstance(v, bool) else None


# Kleene's tables, written out.
AND = {(True, True): True, (True, False): False, (True, None): None, (False, True): False,
       (False, False): False, (False, None): False, (None, True): None, (None, False): False,
       (None, None): None}
OR = {(True, True): True, (True, False): True, (True, None): True, (False, True): True,
      (False, False): False, (False, None): None, (None, True): True, (None, False): None,
      (None, None): None}
NOT = {True: False, False: True, None: None}


def ref_like(value: Any, pattern: str, escape: str | None) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        return False
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == escape:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def ref(node: tuple[Any, ...], env: dict[str, Any]) -> Any:
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "prop":
        return env.get(node[1])
    if tag == "neg":
        return ref_arith("-", 0, ref(node[1], env))
    if tag == "arith":
        return ref_arith(node[1], ref(node[2], env), ref(node[3], env))
    if tag == "cmp":
        return ref_compare(node[1], ref(node[2], env), ref(node[3], env))
    if tag in ("and", "or"):
        table = AND if tag == "and" else OR
        return table[tv(ref(node[1], env)), tv(ref(node[2], env))]
    if tag == "not":
        return NOT[tv(ref(node[1], env))]
    if tag == "between":
        v = ref(node[1], env)
        r = AND[ref_compare(">=", v, ref(node[2], env)), ref_compare("<=", v, ref(node[3], env))]
        return NOT[r] if node[4] else r
    if tag == "in":
        v = ref(node[1], env)
        r = None if v is None else any(ref_compare("=", v, x) is True for x in node[2])
        return NOT[r] if node[3] else r
    if tag == "like":
        r = ref_like(ref(node[1], env), node[2], node[3])
        return NOT[r] if node[4] else r
    assert tag == "isnull"
    return (ref(node[1], env) is None) != node[2]


def literal_text(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)


def render(node: tuple[Any, ...]) -> str:
    tag = node[0]
    if tag == "lit":
        return literal_text(node[1])
    if tag == "prop":
        return str(node[1])
    if tag == "neg":
        return f"-({render(node[1])})"
    if tag in ("arith", "cmp"):
        return f"({render(node[2])} {node[1]} {render(node[3])})"
    if tag in ("and", "or"):
        return f"({render(node[1])} {tag.upper()} {render(node[2])})"
    if tag == "not":
        return f"(NOT {render(node[1])})"
    neg = "NOT " if node[-1] else ""
    if tag == "between":
        return f"({render(node[1])} {neg}BETWEEN {render(node[2])} AND {render(node[3])})"
    if tag == "in":
        return f"({render(node[1])} {neg}IN ({', '.join(map(literal_text, node[2]))}))"
    if tag == "like":
        escape = f" ESCAPE '{node[3]}'" if node[3] else ""
        return f"({render(node[1])} {neg}LIKE {literal_text(node[2])}{escape})"
    return f"({render(node[1])} IS {'NOT ' if node[2] else ''}NULL)"


NAMES = ["p", "q", "r", "s"]
ints = st.one_of(st.integers(-20, 20), st.sampled_from([I64 - 1, -I64, 2**40]))
floats = st.sampled_from([0.0, 0.5, -1.5, 2.0, 1e300, 3.25])
strings = st.text(alphabet="ab%_'!", max_size=5)
props = st.sampled_from(NAMES).map(lambda n: ("prop", n))
num = st.recursive(
    st.one_of(props, ints.map(lambda v: ("lit", v)), floats.map(lambda v: ("lit", v))),
    lambda sub: st.one_of(
        st.tuples(st.just("arith"), st.sampled_from("+-*/"), sub, sub),
        st.tuples(st.just("neg"), sub)),
    max_leaves=4)
text_value = st.one_of(props, strings.map(lambda v: ("lit", v)))
like_pattern = st.one_of(
    st.tuples(st.text(alphabet="ab%_", max_size=6), st.none()),
    st.lists(st.sampled_from(["a", "b", "%", "_", "!%", "!_", "!!"]), max_size=5).map(
        lambda parts: ("".join(parts), "!")))


def predicates(sub: Any) -> Any:
    cmp_ops = st.sampled_from(["=", "<>", "<", "<=", ">", ">="])
    return st.one_of(
        st.tuples(st.just("cmp"), cmp_ops, num, num),
        st.tuples(st.just("cmp"), cmp_ops, text_value, text_value),
        st.tuples(st.just("cmp"), st.sampled_from(["=", "<>"]), props,
                  st.booleans().map(lambda v: ("lit", v))),
        st.tuples(st.just("between"), num, num, num, st.booleans()),
        st.tuples(st.just("in"), st.one_of(props, num),
                  st.lists(st.one_of(strings, ints), min_size=1, max_size=3), st.booleans()),
        like_pattern.flatmap(lambda pe: st.tuples(st.just("like"), props, st.just(pe[0]),
                                                  st.just(pe[1]), st.booleans())),
        st.tuples(st.just("isnull"), st.one_of(props, num), st.booleans()),
        props,
    )


conditions = st.recursive(
    predicates(None),
    lambda sub: st.one_of(st.tuples(st.just("and"), sub, sub), st.tuples(st.just("or"), sub, sub),
                          st.tuples(st.just("not"), sub)),
    max_leaves=6)
prop_values = st.one_of(st.none(), st.booleans(), ints, floats, strings)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab", max_size=8), like_pattern)
def test_like_agrees_with_a_regular_expression(value: str, pattern: tuple[str, str | None]) -> None:
    text, escape = pattern
    selector = Selector(f"v LIKE {literal_text(text)}" + (f" ESCAPE '{escape}'" if escape else ""))
    msg = Message(b"", application_properties={"v": value})
    assert selector.evaluate(msg) is ref_like(value, text, escape), (value, text)


@settings(max_examples=500, deadline=None)
@given(conditions, st.fixed_dictionaries({n: prop_values for n in NAMES}))
def test_the_evaluator_agrees_with_the_reference_model(node: tuple[Any, ...],
                                                       values: dict[str, Any]) -> None:
    env = {k: v for k, v in values.items() if v is not None}
    text = render(node)
    expected = tv(ref(node, env))
    msg = Message(b"", application_properties=env)
    assert Selector(text).evaluate(msg) is expected, text
