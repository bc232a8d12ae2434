"""A result's artifact directory: ml4t-backtest's layout, manifest and errors.

`write` puts one file per component (`trades.parquet`, ..., `metrics.json`,
`config.yaml`, `spec.yaml`) under an `.artifact-incomplete` marker, then
`manifest.json`, then removes the marker, so a directory with a manifest and
no marker is complete. `read` validates against the manifest (strict), or
with `recovery=True` loads what it can and lists what it left out in
`artifact_diagnostics`. Components nautilus_like does not capture (holdings,
recorded variables, benchmark, corporate actions, futures ledgers) are
recorded as omitted; an artifact that holds them is refused on reading.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "ArtifactDiagnostic", "ArtifactError", "ArtifactIncompleteError", "ArtifactManifestError",
    "ArtifactNotFoundError", "ArtifactReadError", "ArtifactWriteError", "UnsupportedArtifactVersionError",
    "read", "write",
]

ARTIFACT_TYPE = "ml4t-backtest-result"
SCHEMA_VERSION = 3
# 2: before `initial_capital`; 4-7 add components nautilus_like refuses below.
READABLE_VERSIONS = (2, 3, 4, 5, 6, 7)
MANIFEST = "manifest.json"
INCOMPLETE_MARKER = ".artifact-incomplete"
NONFINITE_KEY = "__ml4t_nonfinite_float__"
COMPONENT_FILES = {
    "trades": "trades.parquet", "fills": "fills.parquet", "funding": "funding.parquet",
    "rejected_orders": "rejected_orders.parquet", "predictions": "predictions.parquet",
    "equity": "equity.parquet", "portfolio_state": "portfolio_state.parquet", "holdings": "holdings.parquet",
    "capital_flows": "capital_flows.parquet", "recorded_variables": "recorded_variables.parquet",
    "benchmark": "benchmark.parquet", "corporate_actions": "corporate_actions.parquet",
    "corporate_entitlements": "corporate_entitlements.parquet",
    "futures_settlements": "futures_settlements.parquet", "futures_rolls": "futures_rolls.parquet",
    "daily_pnl": "daily_pnl.parquet", "metrics": "metrics.json", "config": "config.yaml", "spec": "spec.yaml",
}
REQUIRED = frozenset({"trades", "fills", "rejected_orders", "equity", "portfolio_state", "daily_pnl", "metrics"})
# Components a run of nautilus_like never captures: always omitted on writing.
_NOT_CAPTURED = {
    "futures_settlements": "futures variation was not captured",
    "futures_rolls": "futures roll intents were not captured",
    "corporate_actions": "corporate-action applications were not captured",
    "corporate_entitlements": "corporate entitlements were not captured",
    "holdings": "holdings were not captured",
    "benchmark": "result has no prepared benchmark",
    "recorded_variables": "strategy variables were not recorded",
}
# Optional on reading (their absence is no diagnostic).
_OPTIONAL = frozenset(_NOT_CAPTURED) | {"funding", "capital_flows"}


@dataclass(frozen=True)
class ArtifactDiagnostic:
    """One omission or recovery action of `from_parquet(recovery=True)`."""

    code: str
    component: str
    message: str


class ArtifactError(ValueError):
    """A result artifact could not be written or read."""


class ArtifactNotFoundError(ArtifactError):
    """The artifact path does not exist, is not a directory, or is empty."""


class ArtifactManifestError(ArtifactError):
    """The manifest is missing, malformed, or declares what cannot be read."""


class ArtifactIncompleteError(ArtifactError):
    """The artifact's write did not complete, or a required component is missing."""


class ArtifactReadError(ArtifactError):
    """A declared component cannot be decoded or contradicts another."""


class ArtifactWriteError(ArtifactError):
    """A requested component is unavailable or cannot be written."""


class UnsupportedArtifactVersionError(ArtifactError):
    """The manifest's schema version is not one this library reads."""


# ------------------------------------------------------------------ metrics


def encode_metric(value: Any, *, path: str) -> Any:
    """A metric as JSON-safe values; non-finite floats become tagged objects
    (`{"__ml4t_nonfinite_float__": "nan"}`) so the file stays standard JSON."""
    if isinstance(value, (bool, str, int)) or value is None:
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        label = "nan" if math.isnan(value) else ("positive_infinity" if value > 0 else "negative_infinity")
        return {NONFINITE_KEY: label}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [encode_metric(v, path=f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ArtifactWriteError(f"{path} contains a non-string mapping key")
        return {k: encode_metric(v, path=f"{path}.{k}") for k, v in value.items()}
    import numpy as np

    if isinstance(value, np.generic):
        return encode_metric(value.item(), path=path)
    if isinstance(value, np.ndarray):
        return encode_metric(value.tolist(), path=path)
    if isinstance(value, pl.Series):
        return encode_metric(value.to_list(), path=path)
    raise ArtifactWriteError(f"{path} has unsupported value type {type(value).__name__}")


def decode_metric(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_metric(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {NONFINITE_KEY}:
            labels = {"nan": math.nan, "positive_infinity": math.inf, "negative_infinity": -math.inf}
            if value[NONFINITE_KEY] not in labels:
                raise ValueError(f"Unknown non-finite metric label: {value[NONFINITE_KEY]!r}")
            return labels[value[NONFINITE_KEY]]
        return {k: decode_metric(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------ writing


def _unavailable(result: Any) -> dict[str, str]:
    out = dict(_NOT_CAPTURED)
    if result.predictions is None:
        out["predictions"] = "result has no predictions"
    if result.config is None:
        out["config"] = "result has no config"
        out["spec"] = "result has no config for a runtime spec"
    return out


def _text_payloads(result: Any, selected: list[str]) -> dict[str, str]:
    """metrics.json, config.yaml and spec.yaml, encoded before anything is written."""
    payloads: dict[str, str] = {}
    if "metrics" in selected:
        try:
            encoded = {k: encode_metric(v, path=f"metrics[{k!r}]") for k, v in result.metrics.items()}
            payloads["metrics"] = json.dumps(encoded, indent=2, allow_nan=False)
        except ArtifactWriteError:
            raise
        except Exception as exc:
            raise ArtifactWriteError(f"Failed to serialize metrics: {exc}") from exc
    if "config" in selected or "spec" in selected:
        import yaml

        for name, build, kwargs in (("config", lambda: result.config.to_dict(), {}),
                                    ("spec", result.to_spec_dict, {"sort_keys": False})):
            if name not in selected:
                continue
            try:
                payloads[name] = yaml.safe_dump(build(), default_flow_style=False, **kwargs)
            except Exception as exc:
                raise ArtifactWriteError(f"Failed to serialize {name} component: {exc}") from exc
    return payloads


def write(result: Any, path: Any, *, include: list[str] | None, compression: str) -> dict[str, Path]:
    """`BacktestResult.to_parquet` (see the module doc)."""
    if result.holdings is not None:
        raise ArtifactWriteError("holdings are not captured by nautilus_like; this result cannot be written as "
                                 "an artifact")
    requested = list(include) if include is not None else list(COMPONENT_FILES)
    unknown = sorted(set(requested) - COMPONENT_FILES.keys() - {"manifest"})
    if unknown:
        raise ArtifactWriteError(f"Unknown artifact components requested: {unknown}")
    requested = [name for name in requested if name != "manifest"]
    unavailable = _unavailable(result)
    missing = sorted(set(requested) & unavailable.keys())
    if include is not None and missing:
        details = ", ".join(f"{name}: {unavailable[name]}" for name in missing)
        raise ArtifactWriteError(f"Requested artifact components are unavailable: {details}")
    selected = [name for name in requested if name not in unavailable]
    payloads = _text_payloads(result, selected)

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except Exception as exc:
        raise ArtifactWriteError(f"Failed to create artifact directory {path}: {exc}") from exc

    def attempt(name: str, action) -> None:
        try:
            action()
        except Exception as exc:
            raise ArtifactWriteError(f"Failed to write {name} component: {exc}") from exc

    marker, manifest_path = path / INCOMPLETE_MARKER, path / MANIFEST
    attempt("incomplete marker", lambda: marker.write_text("Result artifact write did not complete.\n"))
    attempt("stale manifest removal", lambda: manifest_path.unlink(missing_ok=True))
    frames = {
        "trades": result.to_trades_dataframe, "fills": result.to_fills_dataframe,
        "funding": result.to_funding_dataframe, "rejected_orders": result.to_rejected_orders_dataframe,
        "predictions": result.to_predictions_dataframe, "equity": result.to_equity_dataframe,
        "portfolio_state": result.to_portfolio_state_dataframe, "capital_flows": result.to_capital_flows_dataframe,
        "daily_pnl": result.to_daily_pnl,
    }
    written: dict[str, Path] = {}
    for name in COMPONENT_FILES:
        if name not in selected:
            continue
        target = path / COMPONENT_FILES[name]
        if name in payloads:
            attempt(name, lambda target=target, text=payloads[name]: target.write_text(text))
        else:
            attempt(name, lambda target=target, frame=frames[name]: frame().write_parquet(
                target, compression=compression))
        written[name] = target
    manifest = {
        "artifact_type": ARTIFACT_TYPE,
        "schema_version": SCHEMA_VERSION,
        "library_version": _library_version(),
        "account_method": result.account_method,
        "initial_capital": result.initial_capital,
        "holdings_sampling": result.holdings_sampling,
        "recorded_sampling": None,
        "returns_include_commissions": result.returns_include_commissions,
        "complete": written.keys() >= (REQUIRED | ({"funding"} if result.funding_payments else set())
                                       | ({"capital_flows"} if result.capital_changes else set())),
        "components": {name: COMPONENT_FILES[name] for name in COMPONENT_FILES if name in written},
        "omitted_components": {name: why for name, why in unavailable.items() if name in requested},
    }
    text = json.dumps(manifest, indent=2, allow_nan=False)
    attempt("manifest", lambda: manifest_path.write_text(text))
    written["manifest"] = manifest_path
    attempt("incomplete marker removal", marker.unlink)
    return written


def _library_version() -> str:
    from nautilus_like import __version__

    return __version__


# ------------------------------------------------------------------ reading


class _Reader:
    """One `from_parquet` call: the manifest's verdicts and the diagnostics so far."""

    def __init__(self, path: Path, recovery: bool) -> None:
        self.path = path
        self.recovery = recovery
        self.diagnostics: list[ArtifactDiagnostic] = []
        self.components: dict[str, str] = {}
        self.manifest: dict[str, Any] | None = None
        self.read_ok: dict[str, bool] = {}

    def note(self, code: str, component: str, message: str) -> None:
        self.diagnostics.append(ArtifactDiagnostic(code, component, message))

    def fail_or_note(self, error: type[ArtifactError], code: str, component: str, message: str) -> None:
        if not self.recovery:
            raise error(message)
        self.note(code, component, message)

    def discover(self) -> dict[str, str]:
        """Components found by their file names (a manifest-free beta artifact)."""
        found = {n: f for n, f in COMPONENT_FILES.items() if (self.path / f).exists()}
        if "predictions" not in found and (self.path / "signals.parquet").exists():
            found["predictions"] = "signals.parquet"
        return found

    def load_manifest(self) -> None:
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            if not self.recovery:
                raise ArtifactManifestError("Result artifact manifest is missing; pass recovery=True only for "
                                            "retained beta artifacts")
            self.note("manifest_missing", "manifest", "Loaded a manifest-free beta artifact.")
            self.components = self.discover()
            return
        try:
            data = json.loads(manifest_path.read_text())
            if not isinstance(data, dict):
                raise TypeError("manifest root must be an object")
        except Exception as exc:
            if not self.recovery:
                raise ArtifactManifestError(f"Failed to read {MANIFEST}: {type(exc).__name__}: {exc}") from exc
            self.note("manifest_invalid", "manifest", f"Ignored malformed manifest ({type(exc).__name__}).")
            self.components = self.discover()
            return
        if data.get("artifact_type") != ARTIFACT_TYPE:
            message = f"Unsupported artifact type: {data.get('artifact_type')!r}"
            if not self.recovery:
                raise ArtifactManifestError(message)
            self.note("manifest_invalid", "manifest", message)
            self.components = self.discover()
            return
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise UnsupportedArtifactVersionError(
                f"Unsupported result artifact schema version {version!r}; supported versions are 2, 3, 4, 5, 6 and 7")
        self.manifest = data
        declared = data.get("components")
        if not isinstance(declared, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in declared.items()):
            self.fail_or_note(ArtifactManifestError, "manifest_invalid", "manifest",
                              "Manifest components must be a string mapping")
            self.components = self.discover()
            return
        unknown = sorted(set(declared) - COMPONENT_FILES.keys())
        noncanonical = sorted(n for n, f in declared.items() if n in COMPONENT_FILES and f != COMPONENT_FILES[n])
        if unknown or noncanonical:
            self.fail_or_note(ArtifactManifestError, "manifest_invalid", "manifest",
                              f"Invalid manifest components: unknown={unknown}, noncanonical={noncanonical}")
            self.components = self.discover()
            return
        self.components = dict(declared)

    def check_declarations(self) -> tuple[Any, Any, Any]:
        """The manifest's account fields, validated; refuses what nautilus_like cannot hold."""
        m = self.manifest or {}
        initial = m.get("initial_capital")
        if initial is not None and (isinstance(initial, bool) or not isinstance(initial, (int, float))
                                    or not math.isfinite(initial) or initial <= 0):
            raise ArtifactManifestError("initial_capital must be a finite positive number or null")
        method = m.get("account_method")
        if method not in (None, "signed_notional", "per_instrument"):
            raise ArtifactManifestError("Unknown account_method")
        with_commissions = m.get("returns_include_commissions")
        if with_commissions is not None and not isinstance(with_commissions, bool):
            raise ArtifactManifestError("returns_include_commissions must be a boolean or null")
        unsupported = sorted(set(self.components) & set(_NOT_CAPTURED))
        if method == "per_instrument" or m.get("holdings_sampling", "none") != "none" or unsupported \
                or m.get("recorded_sampling") is not None or m.get("input_provenance") is not None:
            raise ArtifactManifestError(
                "the artifact holds components nautilus_like does not read yet (holdings, recorded variables, "
                f"benchmark, corporate actions, futures ledgers, per-instrument accounting): {unsupported or method}")
        if self.manifest is not None and m.get("complete") is not True:
            self.fail_or_note(ArtifactIncompleteError, "manifest_incomplete", "manifest",
                              "Result artifact manifest marks the export incomplete")
        return initial, method, with_commissions

    def check_files(self) -> None:
        missing_required = sorted(REQUIRED - self.components.keys()) if self.manifest is not None or not \
            self.recovery else []
        missing_files = sorted(n for n, f in self.components.items() if not (self.path / f).is_file())
        if not self.recovery and (missing_required or missing_files):
            raise ArtifactIncompleteError(f"Result artifact is incomplete: missing components={missing_required}, "
                                          f"missing files={missing_files}")
        if self.recovery:
            for name in sorted(COMPONENT_FILES.keys() - _OPTIONAL - self.components.keys()):
                self.note("component_missing", name, f"Component {COMPONENT_FILES[name]} is absent.")
            for name in missing_files:
                self.note("component_missing_file", name, f"Declared component {self.components[name]} is absent.")
                self.components.pop(name)

    def component(self, name: str, reader, default: Any) -> Any:
        filename = self.components.get(name)
        if filename is None:
            self.read_ok[name] = False
            return default
        try:
            value = reader(self.path / filename)
        except Exception as exc:
            self.read_ok[name] = False
            if not self.recovery:
                raise ArtifactReadError(f"Failed to read {filename}: {type(exc).__name__}: {exc}") from exc
            self.note("component_invalid", name, f"Ignored unreadable {filename} ({type(exc).__name__}).")
            return default
        self.read_ok[name] = True
        return value


def _read_trades(path: Path) -> list[Any]:
    from nautilus_like.types import Trade

    fields = Trade.__dataclass_fields__
    trades = []
    for row in pl.read_parquet(path).iter_rows(named=True):
        values = {k: v for k, v in row.items() if k in fields}
        values.setdefault("symbol", row.get("asset", ""))
        if "exit_slippage" not in row:
            # An artifact from before the entry/exit split: its one slippage
            # column is the exit's (ml4t reads it so).
            values["exit_slippage"] = row.get("slippage") or 0.0
        if values.get("fees") is None:
            values["fees"] = row.get("commission", 0.0)
        for name, default in (("exit_reason", "signal"), ("status", "closed"), ("multiplier", 1.0)):
            if values.get(name) is None:
                values[name] = default
        trades.append(Trade(**values))
    return trades


def _read_fills(path: Path) -> list[Any]:
    from nautilus_like._model import Fill
    from nautilus_like.types import OrderSide

    frame = pl.read_parquet(path)
    if "fill_sequence" in frame.columns:
        sequence = frame["fill_sequence"]
        if not sequence.dtype.is_integer() or sorted(sequence.to_list()) != list(range(frame.height)):
            raise ValueError("fill_sequence must uniquely order every fill from zero")
        frame = frame.sort("fill_sequence")
    skip = {"fill_sequence", "signed_quantity"}
    fills = []
    for row in frame.iter_rows(named=True):
        triggered = row.get("stop_triggered_at")
        if triggered is not None and triggered > row["timestamp"]:
            raise ValueError("Stop trigger instant must not follow its fill")
        values = {k: v for k, v in row.items() if k not in skip}
        values["side"] = OrderSide(row["side"])
        for name in ("order_type", "price_source", "exit_reason"):
            if values.get(name) is None:
                values[name] = ""
        for name in ("commission", "slippage"):
            if values.get(name) is None:
                values[name] = 0.0
        fills.append(Fill(**values))
    return fills


def _read_rejected_orders(path: Path) -> list[Any]:
    from nautilus_like._model import Order
    from nautilus_like.types import OrderSide, OrderStatus, OrderType

    orders = []
    for row in pl.read_parquet(path).iter_rows(named=True):
        remaining = row.get("remaining_quantity")
        orders.append(Order(
            order_id=row["order_id"], asset=row["symbol"], created_at=row["timestamp"],
            requested_quantity=row["requested_quantity"],
            quantity=row["requested_quantity"] if remaining is None else remaining,
            filled_quantity=row.get("filled_quantity") or 0.0, side=OrderSide(row["side"]),
            order_type=OrderType(row["order_type"]), limit_price=row.get("limit_price"),
            stop_price=row.get("stop_price"), trail_amount=row.get("trail_amount"),
            parent_id=row.get("parent_id"), rebalance_id=row.get("rebalance_id"),
            status=OrderStatus(row["status"]), rejection_reason=row.get("rejection_reason"),
            _rejection_code=row.get("rejection_code")))
    return orders


def _read_equity(path: Path) -> list[tuple[Any, float]]:
    return [(row["timestamp"], row["equity"]) for row in pl.read_parquet(path).iter_rows(named=True)]


def _read_portfolio_state(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, bool, int | None]]]:
    frame = pl.read_parquet(path)
    metadata_columns = ("observation_kind", "holdings_complete", "fill_sequence")
    metadata: list[tuple[str, bool, int | None]] = []
    if set(metadata_columns) & set(frame.columns):
        if not set(metadata_columns) <= set(frame.columns):
            raise ValueError("Account observation metadata is incomplete")
        for kind, complete, sequence in frame.select(metadata_columns).iter_rows():
            if kind != "bar" or not isinstance(complete, bool) or sequence is not None:
                raise ValueError(f"Account observation metadata is invalid (nautilus_like records bar "
                                 f"observations only; got {kind!r})")
            metadata.append((kind, complete, sequence))
    rows = list(frame.select("timestamp", "equity", "cash", "gross_exposure", "net_exposure",
                             "open_positions").iter_rows())
    return rows, metadata


def _read_metrics(path: Path) -> dict[str, Any]:
    def refuse(constant: str) -> None:
        raise ValueError(f"Nonstandard JSON constant {constant!r}; use tagged values")

    data = json.loads(path.read_text(), parse_constant=refuse)
    if not isinstance(data, dict):
        raise TypeError("metrics root must be an object")
    return decode_metric(data)


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


def _read_config(path: Path) -> Any:
    from nautilus_like.config import BacktestConfig

    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise TypeError("config root must be a mapping")
    return BacktestConfig.from_dict(data)


def _read_spec_config(path: Path) -> Any:
    from nautilus_like.config import BacktestConfig

    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise TypeError("spec root must be a mapping")
    if data.get("version") != 1:
        raise ValueError(f"unsupported spec version {data.get('version')!r}")
    if not isinstance(data.get("config"), dict):
        raise TypeError("spec config must be a mapping")
    return BacktestConfig.from_dict(data["config"])


def _read_funding(path: Path) -> list[Any]:
    from nautilus_like.funding import FundingPayment

    names = ("timestamp", "asset", "quantity", "mark_price", "multiplier", "rate", "amount_per_unit", "cash_delta")
    return [FundingPayment(*row) for row in pl.read_parquet(path).select(names).iter_rows()]


def _read_capital_flows(path: Path) -> list[Any]:
    from nautilus_like.capital import CapitalChange

    frame = pl.read_parquet(path)
    if "flow_sequence" not in frame.columns:
        raise ValueError("flow_sequence is required")
    if sorted(frame["flow_sequence"].to_list()) != list(range(frame.height)):
        raise ValueError("flow_sequence must number every capital change once, from 0")
    names = ("timestamp", "event_id", "kind", "value", "cash_delta", "nav_before", "nav_after")
    return [CapitalChange(*row) for row in frame.sort("flow_sequence").select(names).iter_rows()]


def _finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _check_cash_events(r: _Reader, metrics: dict[str, Any], capital: list[Any], funding: list[Any]) -> None:
    """Flows and funding must agree with the metrics that count them: a
    missing flow table would turn a deposit into a return."""
    if metrics.get("num_capital_changes", 0) and not r.read_ok.get("capital_flows"):
        raise ArtifactReadError("capital_flows.parquet is required for an artifact with external flows")
    if capital and (
            metrics.get("num_capital_changes") != len(capital)
            or metrics.get("total_external_flow") != sum(c.cash_delta for c in capital)
            or len({c.event_id for c in capital}) != len(capital)
            or any(c.kind not in ("delta", "target") or not isinstance(c.event_id, str) or not c.event_id
                   or not all(_finite_number(v) for v in (c.value, c.cash_delta, c.nav_before, c.nav_after))
                   or not math.isclose(c.nav_before + c.cash_delta, c.nav_after, rel_tol=1e-12)
                   for c in capital)):
        raise ArtifactReadError("capital flows are inconsistent with recorded valuations or metrics")
    if metrics.get("num_funding_events", 0) and not r.read_ok.get("funding"):
        r.fail_or_note(ArtifactReadError, "component_missing", "funding",
                       "funding.parquet is required for an artifact with funding events")
    if r.read_ok.get("funding") and "num_funding_events" in metrics:
        total = metrics.get("total_funding")
        if (metrics["num_funding_events"] != len(funding) or not _finite_number(total)
                or not math.isclose(total, sum(p.cash_delta for p in funding), abs_tol=1e-9)):
            r.fail_or_note(ArtifactReadError, "component_inconsistent", "funding",
                           "funding.parquet is inconsistent with funding metrics")


def read(cls: type, path: Any, *, recovery: bool) -> Any:
    """`BacktestResult.from_parquet` (see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise ArtifactNotFoundError(f"Result artifact path does not exist: {path}")
    if not path.is_dir():
        raise ArtifactNotFoundError(f"Result artifact path is not a directory: {path}")
    if not any(path.iterdir()) and not recovery:
        raise ArtifactNotFoundError(f"Result artifact directory is empty: {path}")
    r = _Reader(path, recovery)
    if (path / INCOMPLETE_MARKER).exists():
        if not recovery:
            raise ArtifactIncompleteError(f"Result artifact contains {INCOMPLETE_MARKER}; its write did not complete")
        r.note("incomplete_write", "manifest", "Artifact write did not complete.")
    r.load_manifest()
    initial_capital, account_method, with_commissions = r.check_declarations()
    r.check_files()

    trades = r.component("trades", _read_trades, [])
    fills = r.component("fills", _read_fills, [])
    funding = r.component("funding", _read_funding, [])
    capital = r.component("capital_flows", _read_capital_flows, [])
    rejected = r.component("rejected_orders", _read_rejected_orders, [])
    equity_curve = r.component("equity", _read_equity, [])
    state, metadata = r.component("portfolio_state", _read_portfolio_state, ([], []))
    metrics = r.component("metrics", _read_metrics, {})
    _check_cash_events(r, metrics, capital, funding)
    predictions = r.component("predictions", pl.read_parquet, None)
    daily = r.component("daily_pnl", pl.read_parquet, None)
    config = r.component("config", _read_config, None)
    spec_config = r.component("spec", _read_spec_config, None)
    if config is None:
        config = spec_config
    if daily is not None:
        if not r.read_ok["equity"]:
            r.note("component_unverified", "daily_pnl", "daily_pnl.parquet could not be verified without equity.parquet")
        else:
            expected = cls(trades=[], equity_curve=equity_curve, fills=[], metrics={},
                           initial_capital=initial_capital, capital_changes=capital).to_daily_pnl()
            if not daily.equals(expected):
                r.fail_or_note(ArtifactReadError, "component_inconsistent", "daily_pnl",
                               "daily_pnl.parquet is inconsistent with equity.parquet")
    return cls(trades=trades, equity_curve=equity_curve, fills=fills, metrics=metrics, predictions=predictions,
               config=config, portfolio_state=state, rejected_orders=rejected, funding_payments=funding,
               artifact_diagnostics=tuple(r.diagnostics), initial_capital=initial_capital,
               capital_changes=capital, returns_include_commissions=with_commissions,
               observation_metadata=metadata, account_method=account_method)
