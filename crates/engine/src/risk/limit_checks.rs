//! A portfolio snapshot judged by one limit: ml4t-backtest's
//! `PortfolioLimit.check(state)`, which a strategy (or ml4t's `RiskManager`)
//! calls with a `PortfolioState` it assembled. Unlike [`LimitMonitor`], which
//! watches the engine's own portfolio every bar, this judges the values it is
//! given and keeps no state. Besides the five limits the engine enforces it
//! covers the ones ml4t only offers this way: per-asset exposure, historical
//! VaR and CVaR over a returns series, portfolio beta, sector and factor
//! exposure (their data come from the snapshot's context).
//!
//! [`LimitMonitor`]: crate::risk::portfolio_limits

use crate::rules::dynamic::percent;

/// What the limits read (ml4t's `PortfolioState`, positions as signed market values).
#[derive(Debug, Clone, Copy)]
pub struct PortfolioSnapshot<'a> {
    pub equity: f64,
    pub current_drawdown: f64,
    pub num_positions: u64,
    pub position_values: &'a [f64],
    pub daily_pnl: f64,
    pub gross_exposure: f64,
    pub net_exposure: f64,
}

/// One limit with its thresholds and the context data it reads, aligned
/// with the snapshot's positions where per position (NaN: not given).
#[derive(Debug, Clone)]
pub enum SnapshotLimit<'a> {
    MaxDrawdown { max_drawdown: f64, warn_threshold: Option<f64> },
    MaxPositions { max_positions: u64 },
    /// No position's |value| over equity above `max_exposure_pct`; `assets` names them.
    MaxExposure { max_exposure_pct: f64, assets: &'a [String] },
    DailyLoss { max_daily_loss_pct: f64 },
    GrossExposure { max_gross_exposure: f64 },
    NetExposure { max_net_exposure: f64, min_net_exposure: f64 },
    /// Historical VaR of the last `lookback` `returns` at `confidence`.
    VaR { threshold: f64, confidence: f64, lookback: usize, returns: &'a [f64] },
    /// Historical CVaR (the mean of the returns at or below the VaR quantile).
    CVaR { threshold: f64, confidence: f64, lookback: usize, returns: &'a [f64] },
    /// Sum of weight x beta (a position without a beta counts 1.0).
    Beta { max_beta: f64, min_beta: f64, betas: &'a [f64] },
    /// Per sector, sum of |weight| (`sectors[i]` names position i's sector;
    /// ml4t's "Unknown" when it has none).
    SectorExposure { max_sector_exposure: f64, sectors: &'a [String] },
    /// Sum of weight x loading (a position without a loading counts 0).
    FactorExposure { factor_name: &'a str, max_exposure: f64, min_exposure: f64, loadings: &'a [f64] },
}

/// A breached limit: `warning` for a drawdown past its warn threshold only;
/// `reason` is ml4t's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub warning: bool,
    pub reason: String,
}

fn breach(reason: String) -> Option<Breach> {
    Some(Breach { warning: false, reason })
}

/// numpy's `percentile(values, q)` with its default linear method.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let quantile = q / 100.0;
    // numpy's virtual index n*q + (alpha + q*(1 - alpha - beta)) - 1 with alpha = beta = 1;
    // q*(1 - 1 - 1) is an exact negation, so 1 - q is the same float.
    let virtual_index = (n as f64 * quantile + (1.0 - quantile) - 1.0).clamp(0.0, (n - 1) as f64);
    let below = virtual_index.floor();
    let t = virtual_index - below;
    let a = sorted[below as usize];
    let b = sorted[(below as usize + 1).min(n - 1)];
    // numpy's lerp: from the nearer end.
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The last `lookback` returns (all of them for 0, as Python's `[-0:]`),
/// when there are that many and any at all.
fn window(returns: &[f64], lookback: usize) -> Option<&[f64]> {
    if returns.is_empty() || returns.len() < lookback {
        return None;
    }
    Some(if lookback == 0 { returns } else { &returns[returns.len() - lookback..] })
}

/// The signed weighted sum `sum(value / equity * factor)`, None without
/// positions or positive equity (ml4t holds then).
fn weighted(s: &PortfolioSnapshot<'_>, factors: &[f64], missing: f64) -> Option<f64> {
    if s.position_values.is_empty() || s.equity <= 0.0 {
        return None;
    }
    Some(s.position_values.iter().zip(factors.iter().chain(std::iter::repeat(&f64::NAN)))
        .map(|(value, f)| value / s.equity * if f.is_nan() { missing } else { *f })
        .sum())
}

impl SnapshotLimit<'_> {
    /// The limit's judgement of `s`: None when not breached (or when the
    /// data it needs are missing, as in ml4t).
    pub fn check(&self, s: &PortfolioSnapshot<'_>) -> Option<Breach> {
        match *self {
            SnapshotLimit::MaxDrawdown { max_drawdown, warn_threshold } => {
                let dd = s.current_drawdown;
                if dd >= max_drawdown {
                    return breach(format!("drawdown {} >= {}", percent(dd, 1), percent(max_drawdown, 1)));
                }
                match warn_threshold {
                    // ml4t tests the threshold for truth: 0 never warns.
                    Some(w) if w != 0.0 && dd >= w => Some(Breach {
                        warning: true,
                        reason: format!("drawdown {} >= warn threshold {}", percent(dd, 1), percent(w, 1)),
                    }),
                    _ => None,
                }
            }
            SnapshotLimit::MaxPositions { max_positions } => (s.num_positions >= max_positions)
                .then(|| Breach { warning: false, reason: format!("positions {} >= max {max_positions}", s.num_positions) }),
            SnapshotLimit::MaxExposure { max_exposure_pct, assets } => {
                s.position_values.iter().zip(assets).find_map(|(value, asset)| {
                    let exposure = if s.equity > 0.0 { value.abs() / s.equity } else { 0.0 };
                    (exposure > max_exposure_pct).then(|| Breach {
                        warning: false,
                        reason: format!("{asset} exposure {} > max {}", percent(exposure, 1), percent(max_exposure_pct, 1)),
                    })
                })
            }
            SnapshotLimit::DailyLoss { max_daily_loss_pct } => {
                if s.equity <= 0.0 {
                    return None;
                }
                let loss = if s.daily_pnl < 0.0 { -s.daily_pnl / s.equity } else { 0.0 };
                (loss > max_daily_loss_pct).then(|| Breach {
                    warning: false,
                    reason: format!("daily loss {} > max {}", percent(loss, 1), percent(max_daily_loss_pct, 1)),
                })
            }
            SnapshotLimit::GrossExposure { max_gross_exposure } => {
                if s.equity <= 0.0 {
                    return None;
                }
                let ratio = s.gross_exposure / s.equity;
                (ratio > max_gross_exposure).then(|| Breach {
                    warning: false,
                    reason: format!("gross exposure {} > max {}", percent(ratio, 1), percent(max_gross_exposure, 1)),
                })
            }
            SnapshotLimit::NetExposure { max_net_exposure, min_net_exposure } => {
                if s.equity <= 0.0 {
                    return None;
                }
                let ratio = s.net_exposure / s.equity;
                if ratio > max_net_exposure {
                    breach(format!("net exposure {} > max {}", percent(ratio, 1), percent(max_net_exposure, 1)))
                } else if ratio < min_net_exposure {
                    breach(format!("net exposure {} < min {}", percent(ratio, 1), percent(min_net_exposure, 1)))
                } else {
                    None
                }
            }
            SnapshotLimit::VaR { threshold, confidence, lookback, returns } => {
                let recent = window(returns, lookback)?;
                let var = -percentile(recent, (1.0 - confidence) * 100.0);
                (var > threshold).then(|| Breach {
                    warning: false,
                    reason: format!("VaR {} > threshold {} at {} confidence", percent(var, 2), percent(threshold, 2),
                                    percent(confidence, 0)),
                })
            }
            SnapshotLimit::CVaR { threshold, confidence, lookback, returns } => {
                let recent = window(returns, lookback)?;
                let cutoff = percentile(recent, (1.0 - confidence) * 100.0);
                let tail: Vec<f64> = recent.iter().copied().filter(|r| *r <= cutoff).collect();
                if tail.is_empty() {
                    return None;
                }
                let cvar = -(tail.iter().sum::<f64>() / tail.len() as f64);
                (cvar > threshold).then(|| Breach {
                    warning: false,
                    reason: format!("CVaR {} > threshold {} at {} confidence", percent(cvar, 2), percent(threshold, 2),
                                    percent(confidence, 0)),
                })
            }
            SnapshotLimit::Beta { max_beta, min_beta, betas } => {
                let beta = weighted(s, betas, 1.0)?;
                if beta > max_beta {
                    breach(format!("portfolio beta {beta:.2} > max {max_beta:.2}"))
                } else if beta < min_beta {
                    breach(format!("portfolio beta {beta:.2} < min {min_beta:.2}"))
                } else {
                    None
                }
            }
            SnapshotLimit::SectorExposure { max_sector_exposure, sectors } => {
                if s.position_values.is_empty() || s.equity <= 0.0 {
                    return None;
                }
                // Sectors in order of first appearance, as ml4t's dict keeps them.
                let mut totals: Vec<(&str, f64)> = Vec::new();
                for (i, value) in s.position_values.iter().enumerate() {
                    let sector = sectors.get(i).map_or("Unknown", String::as_str);
                    let weight = value.abs() / s.equity;
                    match totals.iter_mut().find(|(name, _)| *name == sector) {
                        Some((_, total)) => *total += weight,
                        None => totals.push((sector, weight)),
                    }
                }
                totals.into_iter().find(|(_, exposure)| *exposure > max_sector_exposure).map(|(sector, exposure)| Breach {
                    warning: false,
                    reason: format!("{sector} exposure {} > max {}", percent(exposure, 1), percent(max_sector_exposure, 1)),
                })
            }
            SnapshotLimit::FactorExposure { factor_name, max_exposure, min_exposure, loadings } => {
                let exposure = weighted(s, loadings, 0.0)?;
                if exposure > max_exposure {
                    breach(format!("{factor_name} exposure {exposure:.2} > max {max_exposure:.2}"))
                } else if exposure < min_exposure {
                    breach(format!("{factor_name} exposure {exposure:.2} < min {min_exposure:.2}"))
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(values: &[f64], equity: f64) -> PortfolioSnapshot<'_> {
        let gross = values.iter().map(|v| v.abs()).sum();
        let net = values.iter().sum();
        PortfolioSnapshot { equity, current_drawdown: 0.0, num_positions: values.len() as u64, position_values: values,
                            daily_pnl: 0.0, gross_exposure: gross, net_exposure: net }
    }

    #[test]
    fn drawdown_breach_and_warning() {
        let mut s = snapshot(&[], 80_000.0);
        s.current_drawdown = 0.21;
        let limit = SnapshotLimit::MaxDrawdown { max_drawdown: 0.20, warn_threshold: Some(0.15) };
        assert_eq!(limit.check(&s), breach("drawdown 21.0% >= 20.0%".into()));
        s.current_drawdown = 0.16;
        assert_eq!(limit.check(&s), Some(Breach { warning: true, reason: "drawdown 16.0% >= warn threshold 15.0%".into() }));
        s.current_drawdown = 0.10;
        assert_eq!(limit.check(&s), None);
    }

    #[test]
    fn exposure_limits_over_equity() {
        // 60k long + 50k long on 100k equity: gross 110%, net 110%.
        let values = [60_000.0, 50_000.0];
        let s = snapshot(&values, 100_000.0);
        assert_eq!(SnapshotLimit::GrossExposure { max_gross_exposure: 1.0 }.check(&s),
                   breach("gross exposure 110.0% > max 100.0%".into()));
        assert_eq!(SnapshotLimit::NetExposure { max_net_exposure: 1.2, min_net_exposure: -1.0 }.check(&s), None);
        let assets = ["AAPL".to_string(), "MSFT".to_string()];
        assert_eq!(SnapshotLimit::MaxExposure { max_exposure_pct: 0.55, assets: &assets }.check(&s),
                   breach("AAPL exposure 60.0% > max 55.0%".into()));
        // Zero equity: nothing to judge.
        assert_eq!(SnapshotLimit::GrossExposure { max_gross_exposure: 1.0 }.check(&snapshot(&values, 0.0)), None);
    }

    #[test]
    fn var_and_cvar_of_a_returns_window() {
        // Returns -5%, -3%, -1%, 1%, 3%. The 20th percentile (80% confidence):
        // index 0.8 between -5% and -3% -> -3.4%, so VaR 3.4%.
        let returns = [0.01, -0.05, 0.03, -0.01, -0.03];
        let var = SnapshotLimit::VaR { threshold: 0.03, confidence: 0.80, lookback: 5, returns: &returns };
        assert_eq!(var.check(&snapshot(&[], 1.0)), breach("VaR 3.40% > threshold 3.00% at 80% confidence".into()));
        // CVaR: returns <= -3.4% are only -5% -> 5%.
        let cvar = SnapshotLimit::CVaR { threshold: 0.045, confidence: 0.80, lookback: 5, returns: &returns };
        assert_eq!(cvar.check(&snapshot(&[], 1.0)), breach("CVaR 5.00% > threshold 4.50% at 80% confidence".into()));
        // Fewer returns than the lookback: no judgement.
        let short = SnapshotLimit::VaR { threshold: 0.0, confidence: 0.95, lookback: 20, returns: &returns };
        assert_eq!(short.check(&snapshot(&[], 1.0)), None);
    }

    #[test]
    fn beta_sector_and_factor_exposure() {
        // 50k AAPL (beta 1.5) and 30k JNJ (no beta -> 1.0) on 100k: 0.75 + 0.3 = 1.05.
        let values = [50_000.0, 30_000.0];
        let s = snapshot(&values, 100_000.0);
        let betas = [1.5, f64::NAN];
        assert_eq!(SnapshotLimit::Beta { max_beta: 1.0, min_beta: 0.0, betas: &betas }.check(&s),
                   breach("portfolio beta 1.05 > max 1.00".into()));
        let sectors = ["Tech".to_string(), "Tech".to_string()];
        assert_eq!(SnapshotLimit::SectorExposure { max_sector_exposure: 0.7, sectors: &sectors }.check(&s),
                   breach("Tech exposure 80.0% > max 70.0%".into()));
        // Loadings 0.8 and none (0): 0.5 x 0.8 = 0.40.
        let loadings = [0.8, f64::NAN];
        let factor = SnapshotLimit::FactorExposure { factor_name: "momentum", max_exposure: 0.3, min_exposure: -0.3,
                                                     loadings: &loadings };
        assert_eq!(factor.check(&s), breach("momentum exposure 0.40 > max 0.30".into()));
        assert_eq!(factor.check(&snapshot(&[], 100_000.0)), None);
    }

    #[test]
    fn percentile_matches_numpy() {
        // numpy.percentile([1, 2, 3, 4], 5) = 1.15; ([10, 20], 50) = 15.
        assert!((percentile(&[4.0, 1.0, 3.0, 2.0], 5.0) - 1.15).abs() < 1e-12);
        assert_eq!(percentile(&[10.0, 20.0], 50.0), 15.0);
        assert_eq!(percentile(&[7.0], 5.0), 7.0);
    }
}
