"""Node snapshots: one node's whole state as an immutable, hashable value.

Why: an exhaustive search of a small configuration must recognise a state it
has seen before (so states are hashed), and a fork must resume a node exactly
where it was. A node's state is everything its future depends on:

- its **durable storage** (``ctx.storage``), which survives a crash;
- its **volatile state**: the node object and everything it reaches (roles,
  queues, votes, ...), except the context itself;
- the **position of its random stream** (``ctx.rng``), so that the next draw
  is the one the original node would have made;
- its **pending timers**, as name -> remaining delay (timers belong to the
  runtime, so the context lists them: :meth:`TimerContext.pending_timers`).

A :class:`NodeSnapshot` compares and hashes by a canonical encoding of all of
that (:func:`encode_state`): dicts as items sorted by key, sets as sorted
elements, objects as their class's qualified name plus attributes sorted by
name, and a mutable object reached twice (a role's ``state`` that *is*
``ctx.storage``, a replica's ``accepted`` that is ``storage["accepted"]``)
written once and then referred to by the order it was first reached in.
Nothing in it depends on ``id()``, on ``hash()`` of a string or on set
iteration order, so equal states give equal bytes, equal snapshots, equal
hashes and an equal :meth:`NodeSnapshot.digest` in any process.

Restoring does not decode that encoding: the snapshot also keeps a pickle of
the node graph and storage, in which the context, its storage and its random
stream are placeholders that :func:`restore` binds to the new context. Shared
references stay shared, and the pickle is taken with the encoding, so later
changes to the node never reach the snapshot.

A node must hold nothing that cannot be snapshotted: no simpy object, no
numpy generator (draw through ``ctx.rng``), no lambda or closure, no runtime
object other than its own context. :func:`snapshot` raises
:class:`SnapshotError` naming the attribute path of the first offender.

How a runtime uses it: to snapshot a node, call ``snapshot(ctx, node)`` with
the node's context, which must list its pending timers (``pending_timers()``:
name -> delay still to run; the runtime's Host does); pass ``node=None`` for a
crashed node (its storage and stream are all that is left).
``Simulation.snapshot_nodes()`` does this for every host of a running
simulation (messages in flight are the network's, not a node's, and are not
included). To restore, give :func:`restore` a *fresh*
context of the same node id (no timers armed; its storage is overwritten):
it returns the node bound to that context and re-arms the snapshot's timers
through ``ctx.set_timer`` in name order. It does not call ``on_start``: the
node resumes, it does not boot. Nodes keep absolute times (``ctx.now`` at
the last heartbeat, say), so restore into a context whose clock reads the
time the snapshot was taken at (:attr:`NodeSnapshot.taken_at`) to get the
same future.
"""

from __future__ import annotations

import enum
import hashlib
import io
import math
import pickle
import types
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Protocol

import orjson

from paxossim.protocols.base import Context, Node
from paxossim.rng import StreamState

_dumps = orjson.dumps

_INT64 = 1 << 63
_HEAPTYPE = 1 << 9
"""``Py_TPFLAGS_HEAPTYPE``: set for classes written in Python, whose state is
all in ``__dict__``/``__slots__``; C types keep state we cannot see."""

_DENIED_PACKAGES = frozenset({"simpy", "numpy", "threading", "asyncio", "socket"})
_DENIED_MODULES = frozenset({"paxossim.sim.runtime"})
"""A node reaching a Host or a Simulation other than through its own context
would drag the whole run (and simpy) into its state."""


class SnapshotError(TypeError):
    """A node holds something that cannot be part of a snapshot (a bug in the protocol)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []

    def __str__(self) -> str:
        where = "".join(reversed(self.path)) or "the node"
        return f"{where}: {self.problem}"


class TimerContext(Context, Protocol):
    """A context that can list its node's pending timers (the runtime's Host and
    the test fakes are)."""

    def pending_timers(self) -> dict[str, float]:
        """Armed timers: name -> delay until it fires."""
        ...


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """One node's state; equal and hashed by :attr:`key`, nothing else."""

    node_id: str
    key: bytes
    """The canonical encoding (orjson) of node id, up/down, storage, node,
    random stream and timers: equal states give equal bytes."""
    up: bool = field(compare=False)
    timers: tuple[tuple[str, float], ...] = field(compare=False)
    """Pending timers (name, remaining delay), sorted by name."""
    rng: StreamState = field(compare=False)
    taken_at: float = field(compare=False)
    """``ctx.now`` when taken: not part of the state, but nodes keep absolute times."""
    image: bytes = field(compare=False, repr=False)
    """A pickle of (node, storage contents) with the context left out."""

    def digest(self) -> str:
        """sha256 hex of :attr:`key`: stable across processes and machines."""
        return hashlib.sha256(self.key).hexdigest()


def snapshot(ctx: TimerContext, node: Node | None) -> NodeSnapshot:
    """The state of ``node`` (None: the node is down) living in ``ctx``."""
    storage = ctx.storage
    rng = ctx.rng  # the stream outlives a crash: a recovered node draws on from it
    timers = tuple(sorted(ctx.pending_timers().items())) if node is not None else ()
    rng_state = rng.state()
    encoder = _Encoder(ctx, rng)
    state = [
        ctx.node_id,
        node is not None,
        encoder.within("ctx.storage", encoder.storage, storage),
        encoder.within(type(node).__name__, encoder.encode, node),
        encoder.encode(rng_state),
        # Rounded: (t + d) - t is not always d in floats, and a restored timer
        # must not make an equal state look new. Restore uses the exact delays.
        [[name, _number(round(delay, 9))] for name, delay in timers],
    ]
    buffer = io.BytesIO()
    _Pickler(buffer, ctx, rng).dump((node, dict(storage)))
    return NodeSnapshot(
        node_id=ctx.node_id,
        key=_dumps(state),
        up=node is not None,
        timers=timers,
        rng=rng_state,
        taken_at=ctx.now,
        image=buffer.getvalue(),
    )


def restore(snap: NodeSnapshot, ctx: Context) -> Node | None:
    """``snap``'s node, bound to the fresh context ``ctx`` (None if it was down).

    Overwrites ``ctx.storage`` (in place: the runtime's Host keeps its dict),
    sets ``ctx.rng`` to the snapshot's position and re-arms the timers (a
    down node has none).
    """
    if ctx.node_id != snap.node_id:
        raise ValueError(f"snapshot of {snap.node_id!r} restored into {ctx.node_id!r}")
    rng = ctx.rng
    node, contents = _Unpickler(io.BytesIO(snap.image), ctx, rng).load()
    ctx.storage.clear()
    ctx.storage.update(contents)
    rng.set_state(snap.rng)
    for name, delay in snap.timers:
        ctx.set_timer(name, delay)
    return node


def encode_state(value: Any) -> bytes:
    """The canonical encoding of a detached value (no context): what
    :attr:`NodeSnapshot.key` is made of, for tests and for protocol-visible state."""
    return _dumps(_Encoder(None, None).encode(value))


# -- the canonical encoding -----------------------------------------------------


def _number(value: int | float) -> Any:
    """JSON-able and exact: big ints and non-finite floats as tagged strings."""
    if type(value) is int:
        return value if -_INT64 <= value < _INT64 else ["int", str(value)]
    return value if math.isfinite(value) else ["float", repr(value)]


def _qualname(kind: type | Callable[..., Any]) -> str:
    name = f"{kind.__module__}.{kind.__qualname__}"
    if "<locals>" in name or "<lambda>" in name:
        raise SnapshotError(f"{name} is local to a function: it cannot be restored")
    return name


def _small_ints(keys: list[int]) -> bool:
    return min(keys) >= -_INT64 and max(keys) < _INT64


def _sort_key(encoded: Any) -> bytes:
    return _dumps(encoded)


_slot_names: dict[type, tuple[str, ...]] = {}


def _slots(kind: type) -> tuple[str, ...]:
    """Every slot of ``kind`` and its bases, private names mangled."""
    names = _slot_names.get(kind)
    if names is None:
        found: list[str] = []
        for base in kind.__mro__:
            declared = base.__dict__.get("__slots__", ())
            for name in (declared,) if isinstance(declared, str) else declared:
                if name in ("__dict__", "__weakref__"):
                    continue
                if name.startswith("__") and not name.endswith("__"):
                    name = f"_{base.__name__.lstrip('_')}{name}"
                found.append(name)
        names = _slot_names[kind] = tuple(sorted(set(found)))
    return names


def _check_class(kind: type) -> None:
    """Only classes written in Python, outside the denied packages, and not
    subclasses of a builtin container (whose contents attributes do not show)."""
    module = kind.__module__
    if module in _DENIED_MODULES or module.partition(".")[0] in _DENIED_PACKAGES:
        raise SnapshotError(f"a {module}.{kind.__qualname__} cannot be part of a node's state")
    if not kind.__flags__ & _HEAPTYPE:
        raise SnapshotError(f"a {kind.__qualname__} (a C type) cannot be part of a node's state")
    for base in kind.__mro__[1:-1]:
        if not base.__flags__ & _HEAPTYPE:
            raise SnapshotError(f"{kind.__qualname__} subclasses {base.__qualname__}:"
                                " its contents would not be encoded")


def _is_frozen(kind: type) -> bool:
    params = getattr(kind, "__dataclass_params__", None)
    return params is not None and is_dataclass(kind) and params.frozen


class _Encoder:
    """Turns a node's object graph into nested JSON-able lists, canonically.

    Every list in the output starts with a tag, so a string is never mistaken
    for a container and a tuple never for a list.
    """

    def __init__(self, ctx: Context | None, rng: object | None) -> None:
        self.special: dict[int, list[str]] = {}
        if ctx is not None:
            self.special[id(ctx)] = ["ctx"]
            self.special[id(ctx.storage)] = ["storage"]
        if rng is not None:
            self.special[id(rng)] = ["rng"]
        self.refs: dict[int, int] = {}
        """Mutable objects already written: id -> the order they were first reached in."""
        self.values: dict[int, list[Any]] = {}
        """Frozen dataclasses already encoded (their encoding is a pure function of them)."""

    def storage(self, storage: dict[str, Any]) -> list[Any]:
        return self._dict(storage)

    def within(self, where: str, encode: Callable[[Any], Any], obj: Any) -> Any:
        """``encode(obj)``, naming ``where`` in the path of any error."""
        try:
            return encode(obj)
        except SnapshotError as error:
            error.path.append(where)
            raise

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind is str or kind is bool:
            return obj
        if kind is int or kind is float:
            return _number(obj)
        if kind is tuple:
            encode = self.encode
            return ["tuple", *[item if type(item) is str else encode(item) for item in obj]]
        special = self.special.get(id(obj))
        if special is not None:
            return special
        if kind is frozenset or isinstance(obj, (type, enum.Enum)):
            return self.key(obj)
        if _is_frozen(kind):
            # Configuration (a cluster, options) is reached from every role:
            # written out in full each time, but encoded once per snapshot.
            value = self.values.get(id(obj))
            if value is None:
                _check_class(kind)
                value = self.values[id(obj)] = [
                    "value", _qualname(kind),
                    *[[f.name, self._attr(f.name, getattr(obj, f.name))] for f in fields(obj)]]
            return value
        if isinstance(obj, tuple) and hasattr(kind, "_fields"):
            _check_class(kind)
            return ["namedtuple", _qualname(kind), *[self.encode(item) for item in obj]]
        if kind is types.MethodType or kind is types.BuiltinMethodType:
            owner = obj.__self__
            if isinstance(owner, types.ModuleType):
                return ["function", _qualname(obj)]
            return ["method", self._attr("__self__", owner), obj.__name__]
        if kind is types.FunctionType:
            return ["function", _qualname(obj)]
        ref = self.refs.get(id(obj))
        if ref is not None:
            return ["ref", ref]
        self.refs[id(obj)] = len(self.refs)
        if kind is dict:
            return self._dict(obj)
        if kind is list:
            return ["list", *[self._item(index, item) for index, item in enumerate(obj)]]
        if kind is set:
            return ["set", *self._sorted_keys(obj)]
        if kind is deque:
            return ["deque", obj.maxlen,
                    *[self._item(index, item) for index, item in enumerate(obj)]]
        if kind is defaultdict:
            factory = obj.default_factory
            if factory is not None and type(factory) is not type:
                raise SnapshotError("a defaultdict's factory must be a class")
            return ["defaultdict", None if factory is None else self.key(factory),
                    self._dict(obj)]
        return self._object(obj)

    def key(self, obj: Any) -> Any:
        """A dict key or set element: an immutable value, encoded without refs
        (refs would number objects in hash order, which is not canonical)."""
        kind = type(obj)
        if obj is None or kind is str or kind is bool:
            return obj
        if kind is int or kind is float:
            return _number(obj)
        if kind is tuple:
            return ["tuple", *[self.key(item) for item in obj]]
        if kind is frozenset:
            return ["frozenset", *self._sorted_keys(obj)]
        if isinstance(obj, type):
            return ["type", _qualname(obj)]
        if isinstance(obj, enum.Enum):
            return ["enum", _qualname(kind), obj.name]
        if _is_frozen(kind):
            _check_class(kind)
            return ["value", _qualname(kind), *[[f.name, self.key(getattr(obj, f.name))]
                                                for f in fields(obj)]]
        raise SnapshotError(f"a {kind.__qualname__} as a dict key or set element:"
                            " only immutable values are")

    def _sorted_keys(self, items: Any) -> list[Any]:
        encoded = [self.key(item) for item in items]
        return sorted(encoded, key=_sort_key)

    def _dict(self, obj: dict[Any, Any]) -> list[Any]:
        keys = list(obj)
        kinds = {type(key) for key in keys}
        if kinds == {str} or (kinds == {int} and _small_ints(keys)):
            # The common case, sorted natively (an order as canonical as the
            # bytes'), keys written as they are: a 1,000-slot log is mostly this.
            keys.sort()
            pairs = [(key, key) for key in keys]
        else:
            pairs = sorted(((self.key(key), key) for key in keys),
                           key=lambda pair: _sort_key(pair[0]))
        encode = self.encode
        try:
            return ["dict", *[[encoded, value if type(value) is str else encode(value)]
                              for encoded, key in pairs for value in (obj[key],)]]
        except SnapshotError:
            for _, key in pairs:  # the slow path, only to name where it went wrong
                self._item(key, obj[key])
            raise

    def _item(self, index: Any, item: Any) -> Any:
        try:
            return self.encode(item)
        except SnapshotError as error:
            error.path.append(f"[{index!r}]")
            raise

    def _attr(self, name: str, value: Any) -> Any:
        try:
            return self.encode(value)
        except SnapshotError as error:
            error.path.append(f".{name}")
            raise

    def _object(self, obj: Any) -> list[Any]:
        kind = type(obj)
        if kind in (types.GeneratorType, types.CoroutineType, types.ModuleType):
            raise SnapshotError(f"a {kind.__name__} cannot be part of a node's state")
        _check_class(kind)
        attrs: dict[str, Any] = dict(getattr(obj, "__dict__", {}))
        for name in _slots(kind):
            if hasattr(obj, name):
                attrs[name] = getattr(obj, name)
        return ["obj", _qualname(kind),
                *[[name, self._attr(name, attrs[name])] for name in sorted(attrs)]]


# -- the restorable image -------------------------------------------------------


class _Pickler(pickle.Pickler):
    """Pickles a node graph with its context, storage and stream left as placeholders."""

    def __init__(self, file: io.BytesIO, ctx: Context, rng: object | None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._placeholders = {id(ctx): "ctx", id(ctx.storage): "storage"}
        if rng is not None:
            self._placeholders[id(rng)] = "rng"

    def persistent_id(self, obj: Any) -> str | None:
        return self._placeholders.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, ctx: Context, rng: object | None) -> None:
        super().__init__(file)
        self._bindings = {"ctx": ctx, "storage": ctx.storage, "rng": rng}

    def persistent_load(self, pid: Any) -> Any:
        return self._bindings[pid]
