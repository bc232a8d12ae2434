"""Trading fees of prediction-market venues: Kalshi, ForecastEx (via IBKR), Polymarket US.

Each venue has a vectorised function for research over arrays of fills and a
commission model for the engine, with ml4t-backtest 0.2.0's names, arguments and
results:

=====================  =====================================  ==========================
venue                  function                               engine model
=====================  =====================================  ==========================
Kalshi                 `kalshi_fee`, `kalshi_order_fees`      `KalshiCommission`
ForecastEx             `forecastex_fee`                       `ForecastExCommission`
Polymarket US          `polymarket_us_fee`                    `PolymarketUSCommission`
=====================  =====================================  ==========================

Prices are dollars per contract in [0, 1]; a contract pays 1.00 at settlement.
Contracts are non-negative counts; `side` ("buy"/"sell") matters only where a
venue's rounding depends on the cash moved (Kalshi's balance alignment);
`liquidity` is "taker" or "maker". The functions take scalars, NumPy arrays,
sequences or Polars Series, broadcast them together and return a float64 array
(0-d for all-scalar input). The fee formulas themselves are the Rust engine's
(`crates/engine/src/venue/sim/prediction_fees.rs`), so a research figure and the
commission of a backtest fill can never disagree.

>>> float(kalshi_fee(0.50, 100))
1.75
>>> float(kalshi_fee(0.50, 1, rounding="cent"))
0.02
>>> float(polymarket_us_fee(0.50, 1000, rounding="cent"))
17.38

The schedules are the venues' published figures as of 2026-10-08 (the constants
below name them); they change, so pass your own where they have.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from nautilus_like._rust import codes
from nautilus_like.models import _Commission, _commission_spec

__all__ = [
    "FORECASTEX_EXCHANGE_FEE",
    "KALSHI_MAKER_FEE_FACTORS",
    "KALSHI_TAKER_RATE",
    "POLYMARKET_US_MAKER_REBATE_COEFFICIENT",
    "POLYMARKET_US_TAKER_COEFFICIENT",
    "ForecastExCommission",
    "KalshiCommission",
    "KalshiFeeType",
    "KalshiRounding",
    "Liquidity",
    "PolymarketUSCommission",
    "PolymarketUSRounding",
    "Side",
    "forecastex_fee",
    "kalshi_fee",
    "kalshi_order_fees",
    "polymarket_us_fee",
]

Liquidity = Literal["taker", "maker"]
Side = Literal["buy", "sell"]
KalshiFeeType = Literal["quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees"]
KalshiRounding = Literal["exact", "cent", "direct"]
PolymarketUSRounding = Literal["exact", "cent"]

KALSHI_TAKER_RATE = 0.07
"""Kalshi's general trading fee rate: `round_up(M * 0.07 * C * P * (1 - P))`."""

KALSHI_MAKER_FEE_FACTORS: dict[str, float] = {
    "quadratic": 0.0,
    "quadratic_with_maker_fees": 0.25,
    "quadratic_with_combo_maker_fees": 0.5,
}
"""A maker fill's fee as a multiple of the taker fee, by the series' `fee_type`."""

FORECASTEX_EXCHANGE_FEE = 0.01
"""ForecastEx's fee per contract per side (explicit since 2026-03-31; before, it was in the prices)."""

POLYMARKET_US_TAKER_COEFFICIENT = 0.0695
"""Polymarket US's standard taker coefficient theta (from 2026-10-01)."""

POLYMARKET_US_MAKER_REBATE_COEFFICIENT = 0.0125
"""Polymarket US's maker rebate coefficient (the magnitude of theta = -0.0125)."""

_CODES = codes()
_VENUE_KALSHI, _VENUE_FORECASTEX, _VENUE_POLYMARKET_US = (
    _CODES[f"NL_VENUE_{k}"] for k in ("KALSHI", "FORECASTEX", "POLYMARKET_US"))
_C_KALSHI, _C_FORECASTEX, _C_POLYMARKET_US, _C_NONE = (
    _CODES[f"NL_COMMISSION_{k}"] for k in ("KALSHI", "FORECASTEX", "POLYMARKET_US", "NONE"))

# Kalshi members' balance precision in micro-dollars: a non-direct (FCM) member's
# balance moves in cents, a direct member's in hundredths of a cent.
_KALSHI_PRECISION_MICRO = {"exact": 0.0, "cent": 10_000.0, "direct": 100.0}


# --- input checks (ml4t-backtest's messages) -------------------------------------

def _finite(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def _prices(value: Any) -> np.ndarray:
    price = _finite("price", value)
    if np.any((price < 0.0) | (price > 1.0)):
        raise ValueError("price must be in [0, 1] dollars per contract")
    return price


def _contracts(value: Any) -> np.ndarray:
    contracts = _finite("contracts", value)
    if np.any(contracts < 0.0):
        raise ValueError("contracts must be non-negative; pass the direction as side")
    return contracts


def _labels(name: str, value: Any, allowed: tuple[str, ...]) -> np.ndarray:
    labels = np.asarray(value, dtype=np.str_)
    unknown = sorted(set(np.unique(labels).tolist()) - set(allowed))
    if unknown:
        raise ValueError(f"{name} must be one of {allowed}, got {unknown}")
    return labels


def _fees(venue: int, shape: tuple[int, ...], price: np.ndarray, contracts: np.ndarray, coefficient: np.ndarray,
          buy: np.ndarray | None, precision: float, one_order: bool = False) -> np.ndarray:
    """The engine's fee formula over the fills broadcast to `shape`."""
    from nautilus_like._driver import prediction_fees

    def flat(a: np.ndarray, dtype: Any) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1)

    out = prediction_fees(venue, flat(price, np.float64), flat(contracts, np.float64),
                          flat(coefficient, np.float64), None if buy is None else flat(buy, np.uint8),
                          precision, one_order)
    return out.reshape(shape)


# --- Kalshi ------------------------------------------------------------------------

def _kalshi_inputs(price: Any, contracts: Any, liquidity: Any, side: Any, fee_type: Any, fee_multiplier: Any,
                   rounding: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, tuple[int, ...]]:
    """Checked fills as `(price, contracts, coefficient, buy, precision_micro, shape)`."""
    p = _prices(price)
    c = _contracts(contracts)
    multiplier = _finite("fee_multiplier", fee_multiplier)
    if np.any(multiplier < 0.0):
        raise ValueError("fee_multiplier must be non-negative")
    liquidity_labels = _labels("liquidity", liquidity, ("taker", "maker"))
    side_labels = _labels("side", side, ("buy", "sell"))
    fee_types = np.asarray(fee_type, dtype=np.str_)
    if np.any(fee_types == "flat"):
        raise ValueError("Kalshi fee_type 'flat' uses the Specific Trading Fees Table, which is not modeled")
    fee_types = _labels("fee_type", fee_types, tuple(KALSHI_MAKER_FEE_FACTORS))
    if rounding not in _KALSHI_PRECISION_MICRO:
        raise ValueError(f"rounding must be 'exact', 'cent' or 'direct', got {rounding!r}")
    maker_factor = np.zeros(fee_types.shape)
    for name, factor in KALSHI_MAKER_FEE_FACTORS.items():
        maker_factor = np.where(fee_types == name, factor, maker_factor)
    factor = np.where(liquidity_labels == "taker", 1.0, maker_factor)
    # Multiplied in the schedule's order (M * 0.07 * factor, then * C * P * (1 - P) in
    # Rust) so that the float result is the formula's to the last bit.
    coefficient = multiplier * KALSHI_TAKER_RATE * factor
    precision = _KALSHI_PRECISION_MICRO[rounding]
    arrays = [coefficient, c, p] + ([side_labels] if precision else [])
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    return p, c, coefficient, side_labels == "buy", precision, shape


def kalshi_fee(price: Any, contracts: Any, *, liquidity: Any = "taker", side: Any = "buy",
               fee_type: Any = "quadratic", fee_multiplier: Any = 1.0,
               rounding: KalshiRounding = "exact") -> np.ndarray:
    """Kalshi's trading fee per fill, each fill treated as an order of its own.

    Taker: `round_up(M * 0.07 * C * P * (1 - P))` for `C` contracts at `P`, `M`
    the series' `fee_multiplier`. A maker fill pays a multiple of it set by the
    series' `fee_type`: 0 (`quadratic`), 0.25 (`quadratic_with_maker_fees`),
    0.5 (`quadratic_with_combo_maker_fees`). `fee_type="flat"` (Kalshi's
    Specific Trading Fees Table) is not modelled and raises.

    Rounding: `"exact"` rounds the fee up to a micro-dollar (100 contracts at
    0.50 pay 1.75, one pays 0.0175); `"cent"` is what a non-direct member pays:
    the balance change (the contracts' cash less the fee) is aligned down to a
    cent and the difference added to the fee (one contract at 0.50 pays 0.02);
    `"direct"` aligns to a hundredth of a cent. `side` matters only under
    `"cent"`/`"direct"`. Overpayment rebates across the fills of one order are
    `kalshi_order_fees`'s.
    """
    p, c, coefficient, buy, precision, shape = _kalshi_inputs(
        price, contracts, liquidity, side, fee_type, fee_multiplier, rounding)
    return _fees(_VENUE_KALSHI, shape, p, c, coefficient, buy, precision)


def kalshi_order_fees(price: Any, contracts: Any, *, liquidity: Any = "taker", side: Any = "buy",
                      fee_type: Any = "quadratic", fee_multiplier: Any = 1.0,
                      rounding: KalshiRounding = "cent") -> np.ndarray:
    """Net Kalshi fee of each fill of one order, in execution order (1-D).

    Each fill pays its fee plus the rounding that aligns the member's balance
    (see `kalshi_fee`); the rounding overpayments accumulate over the order, and
    whenever whole precision steps have accumulated they are rebated on that
    fill, never more than the fill's own charge. Three fills each overpaying
    0.004 on a 0.01 fee pay 0.014, 0.014 and 0.004 (0.002 carried on).
    """
    p, c, coefficient, buy, precision, shape = _kalshi_inputs(
        price, contracts, liquidity, side, fee_type, fee_multiplier, rounding)
    if len(shape) > 1:
        raise ValueError("kalshi_order_fees takes the fills of one order as 1-D input")
    shape = shape or (1,)
    return _fees(_VENUE_KALSHI, shape, p, c, coefficient, buy, precision, one_order=True)


# --- ForecastEx ----------------------------------------------------------------------

def forecastex_fee(price: Any, contracts: Any, *, exchange_fee: Any = FORECASTEX_EXCHANGE_FEE,
                   broker_commission: Any = 0.0) -> np.ndarray:
    """ForecastEx's fee per fill: a flat amount per contract per side, whatever the price
    (which is checked, not used). IBKR charges no commission on ForecastEx contracts;
    prices recorded before 2026-03-31 carry the fee inside them: pass `exchange_fee=0.0`."""
    p = _prices(price)
    c = _contracts(contracts)
    per_contract = _finite("exchange_fee", exchange_fee) + _finite("broker_commission", broker_commission)
    if np.any(per_contract < 0.0):
        raise ValueError("exchange_fee + broker_commission must be non-negative")
    shape = np.broadcast_shapes(np.shape(per_contract), np.shape(c), np.shape(p))
    return _fees(_VENUE_FORECASTEX, shape, p, c, per_contract, None, 0.0)


# --- Polymarket US -------------------------------------------------------------------

def polymarket_us_fee(price: Any, contracts: Any, *, liquidity: Any = "taker",
                      fee_coefficient: Any = POLYMARKET_US_TAKER_COEFFICIENT,
                      maker_rebate_coefficient: Any = POLYMARKET_US_MAKER_REBATE_COEFFICIENT,
                      rounding: PolymarketUSRounding = "exact") -> np.ndarray:
    """Polymarket US's fee per fill; a maker rebate is a negative fee.

    Taker: `theta * C * p * (1 - p)` (theta 0.0695: 1,000 contracts at 0.50 pay
    17.38 to the cent); maker: `-0.0125 * C * p * (1 - p)`. `fee_coefficient` is
    the taker theta, per market where the venue publishes one. `"cent"` rounds
    each fill to 0.01 half-to-even, as the venue charges it. Not modelled: the
    combo taker curve and monthly taker-volume rebates.
    """
    p = _prices(price)
    c = _contracts(contracts)
    taker = _finite("fee_coefficient", fee_coefficient)
    maker = _finite("maker_rebate_coefficient", maker_rebate_coefficient)
    if np.any(taker < 0.0) or np.any(maker < 0.0):
        raise ValueError("fee_coefficient and maker_rebate_coefficient must be non-negative")
    liquidity_labels = _labels("liquidity", liquidity, ("taker", "maker"))
    if rounding not in ("exact", "cent"):
        raise ValueError(f"rounding must be 'exact' or 'cent', got {rounding!r}")
    coefficient = np.where(liquidity_labels == "taker", taker, -maker)
    shape = np.broadcast_shapes(np.shape(coefficient), np.shape(c), np.shape(p))
    return _fees(_VENUE_POLYMARKET_US, shape, p, c, coefficient, None, 1.0 if rounding == "cent" else 0.0)


# --- engine commission models ----------------------------------------------------------

class KalshiCommission(_Commission):
    """Kalshi's fee as the engine's commission model (computed in Rust per fill).

    Each fill is an order of its own (the per-order rebate of `kalshi_order_fees`
    needs order identity). A positive quantity is a buy, a negative one a sell;
    the engine passes a fill's unsigned quantity, as ml4t-backtest does, so a
    backtest aligns every fill's balance as a buy. Formula and rounding: `kalshi_fee`.
    """

    def __init__(self, liquidity: Liquidity = "taker", fee_type: KalshiFeeType = "quadratic",
                 fee_multiplier: float = 1.0, rounding: KalshiRounding = "exact"):
        self.liquidity = liquidity
        self.fee_type = fee_type
        self.fee_multiplier = fee_multiplier
        self.rounding = rounding
        self._spec()

    def _spec(self) -> dict[str, Any]:
        _, _, coefficient, _, precision, _ = _kalshi_inputs(
            0.5, 1.0, self.liquidity, "buy", self.fee_type, self.fee_multiplier, self.rounding)
        return _commission_spec(_C_KALSHI, rate=float(coefficient), minimum=precision)

    def __repr__(self) -> str:
        return (f"KalshiCommission(liquidity={self.liquidity!r}, fee_type={self.fee_type!r}, "
                f"fee_multiplier={self.fee_multiplier}, rounding={self.rounding!r})")


class ForecastExCommission(_Commission):
    """ForecastEx's fee (via IBKR) as the engine's commission model: `exchange_fee +
    broker_commission` per contract per side (`forecastex_fee`)."""

    def __init__(self, exchange_fee: float = FORECASTEX_EXCHANGE_FEE, broker_commission: float = 0.0):
        self.exchange_fee = exchange_fee
        self.broker_commission = broker_commission
        self._spec()

    def _spec(self) -> dict[str, Any]:
        forecastex_fee(0.5, 1.0, exchange_fee=self.exchange_fee, broker_commission=self.broker_commission)
        return _commission_spec(_C_FORECASTEX, per_share=float(self.exchange_fee) + float(self.broker_commission))

    def __repr__(self) -> str:
        return f"ForecastExCommission(exchange_fee={self.exchange_fee}, broker_commission={self.broker_commission})"


class PolymarketUSCommission(_Commission):
    """Polymarket US's taker fee as the engine's commission model (`polymarket_us_fee`).

    The engine charges only non-negative commissions, so a maker fill is charged
    0 and its rebate left out, which overstates a maker's costs; use
    `polymarket_us_fee` where the rebate matters.
    """

    def __init__(self, liquidity: Liquidity = "taker", fee_coefficient: float = POLYMARKET_US_TAKER_COEFFICIENT,
                 rounding: PolymarketUSRounding = "exact"):
        self.liquidity = liquidity
        self.fee_coefficient = fee_coefficient
        self.rounding = rounding
        self._spec()

    def _spec(self) -> dict[str, Any]:
        polymarket_us_fee(0.5, 1.0, liquidity=self.liquidity, fee_coefficient=self.fee_coefficient,
                          rounding=self.rounding)
        if self.liquidity == "maker":
            return _commission_spec(_C_NONE)
        return _commission_spec(_C_POLYMARKET_US, rate=float(self.fee_coefficient),
                                minimum=1.0 if self.rounding == "cent" else 0.0)

    def __repr__(self) -> str:
        return (f"PolymarketUSCommission(liquidity={self.liquidity!r}, fee_coefficient={self.fee_coefficient}, "
                f"rounding={self.rounding!r})")
