"""`FeedSpec`: what a data set declares about itself — its columns and its
time contract (exchange calendar, timezone of naive timestamps, bar
frequency, what a timestamp marks, where a session starts).

The fields and rules are those of ml4t-specs' `FeedSpec` (the contract
ml4t-backtest's `BacktestConfig(feed_spec=...)` and `DataFeed(feed_spec=...)`
take), here without that package. An ml4t-specs `FeedSpec` is accepted
wherever this one is (`FeedSpec.from_any` reads its fields).

>>> spec = FeedSpec.from_any({"time_col": "ts", "calendar": "NYSE", "frequency": "minute"})
>>> (spec.timestamp_col, spec.calendar, spec.data_frequency)
('ts', 'NYSE', 'minute')
>>> FeedSpec().resolve_calendar()                 # nothing declared: NYSE
'NYSE'
>>> FeedSpec(time_contract_version=2, calendar=None).resolve_calendar()   # explicitly none
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from nautilus_like.time_semantics import (
    UNSET_CALENDAR,
    BarLabel,
    TimestampSemantics,
    coerce_semantics,
    is_unset_calendar,
    resolve_calendar,
)

__all__ = ["BarGridAnchor", "FeedSpec", "PartialBarPolicy", "inherit_time_fields", "is_feed_spec"]


class BarGridAnchor(str, Enum):
    """Where a fixed bar grid starts: at each session's open."""

    SESSION_OPEN = "session_open"


class PartialBarPolicy(str, Enum):
    """Whether a session's last, shorter bar is kept."""

    INCLUDE = "include"
    EXCLUDE = "exclude"


# Bar-grid declarations (time contract 2 only) and their enums.
_GRID_FIELDS: dict[str, type[Enum]] = {"bar_grid_anchor": BarGridAnchor, "bar_label": BarLabel,
                                       "partial_bar_policy": PartialBarPolicy}

# Each field and the names a mapping or object may give it under.
_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp_col": ("timestamp_col", "time_col", "datetime_col"),
    "entity_col": ("entity_col", "symbol_col", "group_col", "ticker_col", "asset_col"),
    **{name: (name,) for name in ("open_col", "high_col", "low_col", "volume_col", "vwap_col", "bid_col", "ask_col",
                                  "mid_col", "bid_size_col", "ask_size_col", "calendar", "timezone")},
    "data_frequency": ("data_frequency", "frequency"),
    **{name: (name,) for name in ("bar_type", "timestamp_semantics", "session_start_time", "time_contract_version",
                                  "bar_grid_anchor", "bar_label", "partial_bar_policy")},
}
# Fields a market-data spec nests under "semantics" (the rest under "schema").
_TIME_FIELDS = frozenset({"calendar", "timezone", "data_frequency", "bar_type", "timestamp_semantics",
                          "session_start_time", "time_contract_version", "bar_grid_anchor", "bar_label",
                          "partial_bar_policy"})
_MISSING = object()


def _checked_calendar(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError(f"calendar must be a non-empty name or None, got {value!r}")


def _plain(value: Any) -> Any:
    """Enums as their values, tuples as lists (what YAML and JSON hold)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class FeedSpec:
    """A data set's columns and time contract (ml4t-specs' fields and defaults).

    `calendar` is `UNSET_CALENDAR` when the feed does not say (a consumer then
    uses its own choice, else NYSE), None for "no exchange calendar". Time
    contract 1 (the default) has no way to say "none": its None means not
    declared. `bar_grid_anchor`, `bar_label` and `partial_bar_policy` need
    time contract 2.
    """

    timestamp_col: str = "timestamp"
    entity_col: str | Sequence[str] | None = None
    price_col: str = "close"
    open_col: str = "open"
    high_col: str = "high"
    low_col: str = "low"
    close_col: str = "close"
    volume_col: str = "volume"
    vwap_col: str | None = None
    bid_col: str | None = None
    ask_col: str | None = None
    mid_col: str | None = None
    bid_size_col: str | None = None
    ask_size_col: str | None = None
    calendar: Any = UNSET_CALENDAR
    timezone: str | None = None
    data_frequency: Any = None
    bar_type: str | None = None
    timestamp_semantics: TimestampSemantics | str | None = None
    session_start_time: str | None = None
    time_contract_version: int = dataclasses.field(default=1, kw_only=True)
    bar_grid_anchor: BarGridAnchor | str | None = dataclasses.field(default=None, kw_only=True)
    bar_label: BarLabel | str | None = dataclasses.field(default=None, kw_only=True)
    partial_bar_policy: PartialBarPolicy | str | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("timestamp_semantics", coerce_semantics(self.timestamp_semantics))
        version = self.time_contract_version
        if isinstance(version, bool) or not isinstance(version, int) or version not in (1, 2):
            raise ValueError(f"time_contract_version must be 1 or 2, got {version!r}")
        if is_unset_calendar(self.calendar):
            put("calendar", UNSET_CALENDAR)  # ml4t-specs' marker becomes ours
        if version == 1:
            declared = [name for name in _GRID_FIELDS if getattr(self, name) is not None]
            if declared:
                raise ValueError(f"bar grid declarations ({', '.join(declared)}) require time_contract_version=2")
            if self.calendar is UNSET_CALENDAR:
                put("calendar", None)  # version 1 cannot tell "unset" from "none"
            else:
                _checked_calendar(self.calendar)
            return
        if self.calendar is not UNSET_CALENDAR:
            _checked_calendar(self.calendar)
        for name, enum in _GRID_FIELDS.items():
            value = getattr(self, name)
            if value is not None:
                raw = value.value if isinstance(value, Enum) else value
                try:
                    put(name, enum(raw))
                except ValueError:
                    allowed = ", ".join(repr(m.value) for m in enum)
                    raise ValueError(f"{name} must be one of {allowed}, got {value!r}") from None
        semantics = self.timestamp_semantics
        if semantics is TimestampSemantics.BAR_CLOSE and self.bar_label is BarLabel.LEFT:
            raise ValueError("bar_close timestamp_semantics requires bar_label='right'")
        if semantics is TimestampSemantics.SESSION_LABEL and any(getattr(self, n) is not None for n in _GRID_FIELDS):
            raise ValueError("session_label timestamps cannot declare an intraday bar grid")

    def resolve_calendar(self, *, calendar: Any = UNSET_CALENDAR) -> str | None:
        """The calendar in force: `calendar` when given (a name, or None for
        none), else the declared one, else NYSE."""
        return resolve_calendar(calendar, declared=self.calendar, version=self.time_contract_version)

    def with_overrides(self, **overrides: Any) -> FeedSpec:
        """A copy with the non-None `overrides` applied; under time contract 2
        `calendar=None` applies too (it disables the calendar)."""
        version = overrides.get("time_contract_version") or self.time_contract_version
        updates = {k: v for k, v in overrides.items() if v is not None or (k == "calendar" and version == 2)}
        return dataclasses.replace(self, **updates) if updates else self

    def to_dict(self) -> dict[str, Any]:
        """Plain values for YAML/JSON. Time contract 1 leaves out the version
        and the grid fields; an unset calendar is left out (not written as a value)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.time_contract_version == 1:
            del data["time_contract_version"]
            for name in _GRID_FIELDS:
                del data[name]
        elif self.calendar is UNSET_CALENDAR:
            del data["calendar"]
        return _plain(data)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_any(cls, value: Any = None) -> FeedSpec:
        """A spec from None (the defaults), a `FeedSpec` (ours, returned as it
        is, or ml4t-specs'), a mapping, or any object with such fields (its
        `metadata` first, when it has one; a market-data spec's `schema` and
        `semantics` sections are read too). Alias names: `time_col`,
        `symbol_col`/`ticker_col`/`asset_col`, `frequency`; a spec naming only
        `price_col` or only `close_col` names both."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        seen: set[int] = set()
        while not isinstance(value, Mapping) and getattr(value, "metadata", None) is not None:
            if id(value) in seen:
                raise ValueError("feed spec metadata cannot contain reference cycles")
            seen.add(id(value))
            value = value.metadata
        if isinstance(value, cls):
            return value
        fields = _fields_of(value, nested=True)
        fields.update(_fields_of(value, nested=False))
        if not fields and not isinstance(value, Mapping):
            raise TypeError(f"feed spec source has no recognized fields: {type(value).__name__}")
        return cls(**fields)


def _pick(source: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if isinstance(source, Mapping):
            if name in source:
                return source[name]
        elif hasattr(source, name):
            return getattr(source, name)
    return _MISSING


def _fields_of(source: Any, *, nested: bool) -> dict[str, Any]:
    """The declared fields of `source`, or (`nested`) of its `schema` and
    `semantics` sections (a market-data spec's layout)."""
    if nested:
        schema, semantics = _pick(source, ("schema",)), _pick(source, ("semantics",))
        if schema is _MISSING and semantics is _MISSING:
            return {}

        def section(name: str) -> Any:
            part = semantics if name in _TIME_FIELDS else schema
            return None if part is _MISSING else part
    else:
        def section(name: str) -> Any:
            return source

    out: dict[str, Any] = {}
    price, close = (_pick(section("price_col"), (n,)) if section("price_col") is not None else _MISSING
                    for n in ("price_col", "close_col"))
    if price is not _MISSING or close is not _MISSING:
        out["price_col"] = price if price is not _MISSING else close
        out["close_col"] = close if close is not _MISSING else price
    for name, aliases in _ALIASES.items():
        part = section(name)
        value = _pick(part, aliases) if part is not None else _MISSING
        if value is not _MISSING:
            out[name] = value
    return out


def is_feed_spec(value: Any) -> bool:
    """Whether `value` is a FeedSpec (ours or ml4t-specs'), which a config keeps as it was given."""
    return isinstance(value, FeedSpec) or (type(value).__name__ == "FeedSpec" and hasattr(value, "with_overrides")
                                           and hasattr(value, "time_contract_version"))


# Time fields a config's own spec takes from its feed's when it leaves them unset.
_INHERITED_TIME_FIELDS = ("timezone", "data_frequency", "bar_type", "timestamp_semantics", "session_start_time",
                          "bar_grid_anchor", "bar_label", "partial_bar_policy")


def inherit_time_fields(declared: FeedSpec, given: FeedSpec) -> FeedSpec:
    """`declared` (a config's own spec) with the calendar and time fields it
    leaves unset taken from `given` (its feed's), under time contract 2."""
    calendar, inherited_calendar = declared.calendar, False
    if calendar is UNSET_CALENDAR or (declared.time_contract_version == 1 and calendar is None):
        calendar = given.calendar
        if calendar is None and given.time_contract_version == 1:
            calendar = UNSET_CALENDAR  # version 1's None is "not declared"
        inherited_calendar = calendar is not UNSET_CALENDAR
    inherited = {name: getattr(given, name) for name in _INHERITED_TIME_FIELDS
                 if getattr(declared, name) is None and getattr(given, name) is not None}
    if not (inherited_calendar or inherited):
        return declared
    return declared.with_overrides(time_contract_version=2, calendar=calendar, **inherited)
