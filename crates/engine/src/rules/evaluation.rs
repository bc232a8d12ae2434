//! Which rule governs a position (the global rule or an asset's override).

use std::collections::HashMap;

use nl_core::AssetId;

use crate::rules::PositionRule;

/// The rule governing `asset`'s position, if any (a per-asset override, even
/// `None`, beats the global rule). A free function over the two fields so the
/// rule can be evaluated while the rules' memory is borrowed mutably.
pub(crate) fn rule_for<'a>(
    global: &'a Option<PositionRule>,
    by_asset: &'a HashMap<AssetId, Option<PositionRule>>,
    asset: AssetId,
) -> Option<&'a PositionRule> {
    match by_asset.get(&asset) {
        Some(over) => over.as_ref(),
        None => global.as_ref(),
    }
}

