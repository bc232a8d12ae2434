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
