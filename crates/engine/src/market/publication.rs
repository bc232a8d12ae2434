//! Publication times of bar fields (ml4t-backtest's `RuntimeServices(known_at_cols=...)`).
//!
//! A field observed at a bar's instant may be published later (a revised high,
//! a late-reported volume). The engine reads a row only at its own instant,
//! so a field is visible there exactly when it was published by then; until
//! then the engine reads the row's fallback (ml4t reads a missing open, high
//! or low as the close).

use nl_core::{EngineError, EngineResult};

/// `known_at` cell of a field that is never published (a null in the feed).
pub const NEVER_PUBLISHED: i64 = i64::MIN;

/// Whether a field published at `known_at` (ns) is visible at its own
/// observation instant `observed` (ns): published by then, and published at all.
#[inline]
pub fn is_published(known_at: i64, observed: i64) -> bool {
    known_at != NEVER_PUBLISHED && known_at <= observed
}

/// Each row's value as the engine may read it at the row's instant: the value
/// where it is published by then, else the row's `fallback`. All four slices
/// are per row and of one length.
pub fn published_values(values: &[f64], fallback: &[f64], known_at: &[i64], observed: &[i64])
    -> EngineResult<Vec<f64>> {
    let n = values.len();
    if fallback.len() != n || known_at.len() != n || observed.len() != n {
        return Err(EngineError::InvalidArgument(format!(
            "publication columns need one value per row: {n} values, {} fallbacks, {} publication times, \
             {} observation times", fallback.len(), known_at.len(), observed.len())));
    }
    Ok((0..n)
        .map(|r| if is_published(known_at[r], observed[r]) { values[r] } else { fallback[r] })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_visible_from_its_publication_on() {
        // Highs 101, 110, 106 observed at t=1, 2, 3; the 110 high is published at t=3
        // (after its bar), the others on time; closes are 100.
        let out = published_values(&[101.0, 110.0, 106.0], &[100.0; 3], &[1, 3, 3], &[1, 2, 3]).unwrap();
        assert_eq!(out, vec![101.0, 100.0, 106.0]);
    }

    #[test]
    fn a_never_published_field_reads_the_fallback() {
        let out = published_values(&[5.0, 6.0], &[4.0, 4.5], &[NEVER_PUBLISHED, 0], &[0, 0]).unwrap();
        assert_eq!(out, vec![4.0, 6.0]);
    }

    #[test]
    fn columns_of_different_lengths_are_refused() {
        assert!(published_values(&[1.0], &[1.0, 2.0], &[0], &[0]).is_err());
    }
}
