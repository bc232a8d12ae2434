//! Market data validation: bad prices and duplicate rows are refused with a
//! message naming the column, the asset and the timestamp.

use std::sync::Arc;

use nl_engine::MarketData;

fn build(close: Vec<f64>, assets: Vec<u32>, bars: Vec<u32>) -> Result<MarketData, String> {
    let n = close.len();
    let names = vec!["AAPL".to_string(), "MSFT".to_string()];
    MarketData::new(
        3, 2, &bars, Arc::new(assets), Arc::new(close.clone()), Arc::new(close.clone()),
        Arc::new(close.clone()), Arc::new(close), Arc::new(vec![0.0; n]), &names,
        &|b| format!("2024-01-0{}", b + 1),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn non_positive_and_nan_prices_name_column_asset_and_time() {
    let err = build(vec![10.0, -1.0], vec![0, 1], vec![0, 1]).err().unwrap();
    assert!(err.contains("\"open\"") && err.contains("MSFT") && err.contains("2024-01-02") && err.contains("-1"), "{err}");
    let err = build(vec![f64::NAN], vec![0], vec![2]).err().unwrap();
    assert!(err.contains("NaN") && err.contains("AAPL") && err.contains("2024-01-03"), "{err}");
    assert!(build(vec![f64::INFINITY], vec![0], vec![0]).is_err());
    assert!(build(vec![0.0], vec![0], vec![0]).is_err());
}

#[test]
fn duplicate_rows_are_refused() {
    let err = build(vec![1.0, 2.0, 3.0], vec![1, 0, 1], vec![0, 0, 0]).err().unwrap();
    assert!(err.contains("duplicate") && err.contains("MSFT") && err.contains("2024-01-01"), "{err}");
}

#[test]
fn rows_keep_feed_order_within_a_bar_and_lookup_finds_them() {
    let md = build(vec![1.0, 2.0, 3.0], vec![1, 0, 0], vec![0, 0, 2]).unwrap();
    assert_eq!(md.rows(0), 0..2);
    assert_eq!(md.rows(1), 2..2);
    assert_eq!(md.find_row(0, 0), Some(1));
    assert_eq!(md.find_row(0, 1), Some(0));
    assert_eq!(md.find_row(1, 0), None);
    assert_eq!(md.find_row(2, 0), Some(2));
}

#[test]
fn unsorted_bars_are_refused() {
    assert!(build(vec![1.0, 2.0], vec![0, 0], vec![1, 0]).is_err());
}

/// A reference price column apart from the close (ml4t's `price_col`): bars
/// carry both; PRICE reads the reference, CLOSE the close, and quotes fall
/// back to the reference. Without one the reference is the close itself.
#[test]
fn a_reference_price_column_rides_beside_the_close() {
    use nl_core::ExecutionPrice;
    use nl_engine::venue::sim::triggers::price_of;

    let names = vec!["AAPL".to_string(), "MSFT".to_string()];
    let label = |b: usize| format!("2024-01-0{}", b + 1);
    let md = build(vec![10.0, 20.0], vec![0, 1], vec![0, 0]).unwrap();
    assert!(!md.reference_apart_from_close());
    assert_eq!((md.bar_at(0).close, md.bar_at(0).price), (10.0, 10.0));

    let md = md.with_reference_prices(Arc::new(vec![9.5, 20.0]), &names, &label).unwrap();
    assert!(md.reference_apart_from_close());
    let bar = md.bar_at(0);
    assert_eq!((bar.close, bar.price), (10.0, 9.5));
    assert_eq!(price_of(&bar, ExecutionPrice::Price, true), 9.5);
    assert_eq!(price_of(&bar, ExecutionPrice::Close, true), 10.0);
    assert_eq!(price_of(&bar, ExecutionPrice::QuoteMid, true), 9.5); // no quotes: the reference

    let md = build(vec![10.0, 20.0], vec![0, 1], vec![0, 0]).unwrap();
    let err = md.with_reference_prices(Arc::new(vec![9.5, 0.0]), &names, &label).err().unwrap().to_string();
    assert!(err.contains("\"price\"") && err.contains("MSFT") && err.contains("2024-01-01"), "{err}");
}
