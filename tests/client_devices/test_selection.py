"""Selection rules: CDA's RuleExpression grammar and WildcardSuffixAttribute matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.client_devices.selection import SelectionRule, SelectionRuleError

V252, V245, V244 = (2, 5, 2), (2, 4, 5), (2, 4, 4)


@pytest.mark.parametrize(
    "rule",
    [
        "thingName: lowercase",
        "thingName: UPPERCASE",
        "thingName: thing1",
        "thingName: thing-1",
        "thingName: thing_1",
        "thingName: 1thing",
        "thingName: -thing",
        "thingName: thi\\:ng",
        "thingName: abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_\\:",
        "thingName:thing",
        "thingName: *",
        "thingName: *Thing",
        "thingName: Thing*",
        "thingName: *Thing*",
        "thingName: Thing* OR thingName: *Thing",
        "thingName: Thing1 AND thingName: Thing2 OR thingName: Thing3",
        "\tthingName:  a\r OR thingName: b ",
    ],
)
def test_rules_cda_accepts(rule: str) -> None:
    # CDA's own BasicRuleExpressionTest cases
    assert SelectionRule.parse(rule, version=V252).text == rule


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("thingName:", "<EOF>"),
        ("ThingName thing", "Was expecting"),  # a name where the keyword belongs
        ("thingName: :", "Lexical error"),  # an unescaped colon is a TokenMgrError
        ("thingName: thing*2", "Was expecting"),  # '*' only at the ends
        ("thingName: a or thingName: b", "Was expecting"),  # keywords are upper case
        ("thingName: OR", "a thing name"),  # OR wins the tie with a name
        ("thingName: a\nOR thingName: b", "Lexical error"),  # newline is not skipped
        ("thingName: a.b", "Lexical error"),
        ("thingName: **", "Was expecting"),
        ("thingName : a", "Was expecting"),  # the keyword includes its colon
        ("", "<EOF>"),
        ("thingName: a AND", "<EOF>"),
        ("thingname: a", "Was expecting"),
        ("thingName: a : b", "Lexical error"),
    ],
)
def test_rules_cda_refuses(rule: str, fragment: str) -> None:
    with pytest.raises(SelectionRuleError) as caught:
        SelectionRule.parse(rule, version=V252)
    assert fragment in str(caught.value)


def test_leading_star_arrived_in_2_4_5() -> None:
    # "thingName wildcard prefix in selectionRule" is in the v2.4.5 tag and in v2.5.0
    for rule in ("thingName: *sensor", "thingName: *sens*"):
        SelectionRule.parse(rule, version=V245)
        with pytest.raises(SelectionRuleError):
            SelectionRule.parse(rule, version=V244)
    # a trailing '*' and '*' alone were always there
    assert SelectionRule.parse("thingName: bme*", version=V244).selects("bme680")
    assert SelectionRule.parse("thingName: *", version=V244).selects("anything")


@pytest.mark.parametrize(
    ("rule", "thing", "selected"),
    [
        ("thingName: bme680-*", "bme680-sensor", True),
        ("thingName: bme680-*", "bme680-", True),
        ("thingName: bme680-*", "bme680", False),
        ("thingName: *-sensor", "bme680-sensor", True),
        ("thingName: *-sensor", "bme680-sensor2", False),
        ("thingName: *680*", "bme680-sensor", True),
        ("thingName: *680*", "bme68-0", False),
        ("thingName: *", "x", True),
        ("thingName: weather-station", "weather-station", True),
        ("thingName: weather-station", "weather-station2", False),
        ("thingName: a OR thingName: b", "b", True),
        ("thingName: a* AND thingName: *z", "abz", True),
        ("thingName: a* AND thingName: *z", "ab", False),
        ("thingName: a AND thingName: b OR thingName: c", "c", True),  # AND binds tighter
        ("thingName: a AND thingName: b OR thingName: c", "a", False),
    ],
)
def test_selection(rule: str, thing: str, selected: bool) -> None:
    assert SelectionRule.parse(rule).selects(thing) is selected


def test_escaped_colon_is_compared_as_written() -> None:
    # CDA never unescapes the token image; the developer guide says 'MyTeam\\:ClientDevice1'
    # selects 'MyTeam:ClientDevice1'. The code wins by default, the guide on request.
    rule = SelectionRule.parse("thingName: MyTeam\\:ClientDevice1")
    assert not rule.selects("MyTeam:ClientDevice1")
    assert rule.selects("MyTeam\\:ClientDevice1")
    documented = SelectionRule.parse("thingName: MyTeam\\:ClientDevice1", unescape_colon=True)
    assert documented.selects("MyTeam:ClientDevice1")


def test_names_lists_the_clauses() -> None:
    rule = SelectionRule.parse("thingName: a OR thingName: b* AND thingName: *c")
    assert rule.names() == ["a", "b*", "*c"]


_names = st.text(alphabet="abc-_", min_size=1, max_size=6)


@given(st.lists(_names, min_size=1, max_size=5), st.text(alphabet="abc-_", max_size=8))
def test_or_of_exact_names_is_membership(names: list[str], thing: str) -> None:
    rule = SelectionRule.parse(" OR ".join(f"thingName: {n}" for n in names))
    assert rule.selects(thing) is (thing in names)


@given(_names, st.text(alphabet="abc-_", max_size=8))
def test_wildcards_are_prefix_suffix_contains(core: str, thing: str) -> None:
    assert SelectionRule.parse(f"thingName: {core}*").selects(thing) is thing.startswith(core)
    assert SelectionRule.parse(f"thingName: *{core}").selects(thing) is thing.endswith(core)
    assert SelectionRule.parse(f"thingName: *{core}*").selects(thing) is (core in thing)
