"""The linearizability checker on hand-written histories, and its two methods agreeing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from paxossim.checks.linearizability import (
    Operation,
    check_history,
    check_key_clusters,
    check_key_search,
    history_from_events,
)


def put(cid: str, key: str, value: str, start: float, end: float | None) -> Operation:
    return Operation(cid, "put", key, value, start, end)


def get(cid: str, key: str, value: str | None, start: float, end: float | None) -> Operation:
    return Operation(cid, "get", key, value, start, end)


GOOD = {
    "sequential": [put("a", "x", "1", 0, 1), get("b", "x", "1", 2, 3)],
    "read of the initial value before any put": [get("a", "x", None, 0, 1),
                                                 put("b", "x", "1", 2, 3)],
    "concurrent read may see the old value": [put("a", "x", "1", 0, 1),
                                              put("b", "x", "2", 2, 6),
                                              get("c", "x", "1", 3, 4)],
    "concurrent read may see the new value": [put("a", "x", "1", 0, 1),
                                              put("b", "x", "2", 2, 6),
                                              get("c", "x", "2", 3, 4)],
    "two reads straddling a write's point": [put("a", "x", "1", 0, 10),
                                             get("b", "x", None, 1, 2),
                                             get("c", "x", "1", 3, 4)],
    "a pending put may have taken effect": [put("a", "x", "1", 0, None),
                                            get("b", "x", "1", 5, 6)],
    "a pending put may not have taken effect": [put("a", "x", "1", 0, None),
                                                get("b", "x", None, 5, 6)],
    "keys are independent": [put("a", "x", "1", 0, 1), put("b", "y", "2", 0, 1),
                             get("c", "x", "1", 2, 3), get("d", "y", "2", 2, 3)],
    "a pending get says nothing": [put("a", "x", "1", 0, 1), get("b", "x", "zzz", 2, None)],
}

BAD = {
    "stale read after a completed write": [put("a", "x", "1", 0, 1),
                                           put("b", "x", "2", 2, 3),
                                           get("c", "x", "1", 4, 5)],
    "read of the initial value after a completed write": [put("a", "x", "1", 0, 1),
                                                          get("b", "x", None, 2, 3)],
    "read of a value nobody wrote": [put("a", "x", "1", 0, 1), get("b", "x", "9", 2, 3)],
    "read that ended before its write began": [get("a", "x", "1", 0, 1),
                                               put("b", "x", "1", 2, 3)],
    "new value then old value (no going back)": [put("a", "x", "1", 0, 1),
                                                 put("b", "x", "2", 2, 10),
                                                 get("c", "x", "2", 3, 4),
                                                 get("d", "x", "1", 5, 6)],
    "two readers disagree on the order of two writes": [put("a", "x", "1", 0, 10),
                                                        put("b", "x", "2", 0, 10),
                                                        get("c", "x", "1", 1, 2),
                                                        get("d", "x", "2", 3, 4),
                                                        get("e", "x", "1", 5, 6)],
    "a bad key among good ones": [put("a", "y", "1", 0, 1), get("b", "y", "1", 2, 3),
                                  put("c", "x", "1", 0, 1), get("d", "x", None, 2, 3)],
}


def test_accepts_known_good_histories() -> None:
    for name, history in GOOD.items():
        verdict = check_history(history)
        assert verdict.ok is True, f"{name}: {verdict.detail}"


def test_rejects_known_bad_histories_with_an_explanation() -> None:
    for name, history in BAD.items():
        verdict = check_history(history)
        assert verdict.ok is False, name
        assert verdict.key == "x" and "x" in verdict.detail, name


def test_both_methods_agree_on_the_hand_written_histories() -> None:
    for name, history in {**GOOD, **BAD}.items():
        ops = [o for o in history if o.key == "x" and not (o.op == "get" and o.response is None)]
        clusters = check_key_clusters("x", ops, None).ok
        search = check_key_search("x", ops, None).ok
        assert clusters == search, name


def test_duplicate_values_fall_back_to_the_search() -> None:
    # Two puts of the same value: the cluster method does not apply.
    good = [put("a", "x", "1", 0, 1), put("b", "x", "2", 2, 3), put("c", "x", "1", 4, 5),
            get("d", "x", "1", 6, 7)]
    bad = [*good[:3], get("d", "x", "2", 6, 7)]
    assert check_history(good).ok is True
    assert check_history(bad).ok is False


def test_search_budget_gives_unknown() -> None:
    # Many overlapping puts of one repeated value force the search; a budget of
    # 3 states cannot finish it, and the verdict says so instead of guessing.
    history = [put(f"p{i}", "x", "v", 0, 100) for i in range(6)]
    history.append(get("g", "x", "w", 200, 201))
    verdict = check_history(history, budget=3)
    assert verdict.ok is None and "gave up" in verdict.detail


@st.composite
def histories(draw: st.DrawFn) -> list[Operation]:
    """Small one-key histories with distinct written values and arbitrary reads."""
    count = draw(st.integers(1, 7))
    ops: list[Operation] = []
    written: list[str | None] = [None]
    for index in range(count):
        start = draw(st.integers(0, 20))
        length = draw(st.integers(1, 8))
        end: float | None = None if draw(st.integers(0, 9)) == 0 else start + length
        if draw(st.booleans()):
            value = f"v{index}"
            written.append(value)
            ops.append(put(f"o{index}", "x", value, start, end))
        else:
            ops.append(get(f"o{index}", "x", draw(st.sampled_from(written)), start, end))
    return ops


@settings(max_examples=300, deadline=None)
@given(histories())
def test_cluster_method_agrees_with_the_search(history: list[Operation]) -> None:
    ops = [o for o in history if not (o.op == "get" and o.response is None)]
    assert check_key_clusters("x", ops, None).ok == check_key_search("x", ops, None).ok


def test_history_from_events_orders_by_log_position() -> None:
    # The put answers and the get is invoked at the same simulated time; the log
    # order says the put finished first, so the stale get is a violation.
    events = [
        {"t": 0.0, "ev": "invoke", "node": "c1", "id": "c1#1", "op": "put", "key": "x",
         "value": "c1#1"},
        {"t": 5.0, "ev": "respond", "node": "c1", "id": "c1#1", "result": "ok"},
        {"t": 5.0, "ev": "invoke", "node": "c2", "id": "c2#1", "op": "get", "key": "x",
         "value": None},
        {"t": 9.0, "ev": "respond", "node": "c2", "id": "c2#1", "result": None},
    ]
    history = history_from_events(events)
    assert [(o.id, o.value, o.invoke, o.response) for o in history] == [
        ("c1#1", "c1#1", 0.0, 1.0), ("c2#1", None, 2.0, 3.0)]
    assert check_history(history).ok is False
    assert check_history(history_from_events(events[:3])).ok is True
