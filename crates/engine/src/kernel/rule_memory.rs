//! Position context writes from the strategy, kept in the rules' memory.

use nl_core::{AssetId, EngineError, EngineResult};
use crate::kernel::Engine;
use crate::rules::memory::*;

impl Engine {
    /// Sets (or with `None` removes) a context value of `asset`'s open
    /// position `serial`. Returns false, changing nothing, when that position
    /// is no longer open (ml4t ignores updates for a flat asset).
    pub fn set_position_context(&mut self, asset: AssetId, serial: u64, key: ContextKey, value: Option<f64>) -> EngineResult<bool> {
        if asset as usize >= self.market.n_assets() {
            return Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")));
        }
        if self.portfolio.position(asset).map(|p| p.serial) != Some(serial) {
            return Ok(false);
        }
        self.rule_memory.set_context(asset, serial, key, value);
        Ok(true)
    }

    /// Forgets the state of the stateful rule in `slot`.
    pub fn reset_rule_memory(&mut self, slot: MemorySlot) {
        self.rule_memory.reset(slot);
    }
}
