//! The process-wide default bridge: the one generated wrappers use when
//! a call names no session.

use parking_lot::Mutex;

use crate::{Bridge, Result};

static DEFAULT_BRIDGE: Mutex<Option<Bridge>> = Mutex::new(None);

/// Makes `bridge` the one generated wrappers use when no
/// `.session(&session)` is given (replacing any earlier one).
pub fn set_default_bridge(bridge: Bridge) {
    *DEFAULT_BRIDGE.lock() = Some(bridge);
}

/// Forgets the default bridge if it is `bridge` (a [`script`](crate::script)
/// that ends).
pub(crate) fn clear_default_bridge_if(bridge: &Bridge) {
    let mut slot = DEFAULT_BRIDGE.lock();
    if slot.as_ref().is_some_and(|b| b.same_pools(bridge)) {
        *slot = None;
    }
}

/// The bridge generated wrappers use: the one given to
/// [`set_default_bridge`] (which [`Bridge::from_config`],
/// [`script`](crate::script) and [`testing`](crate::testing) call), else
/// one made at first use from the nearest `snakebridge.toml` with all its
/// `[pools.<name>]` (as [`Bridge::from_config`]; `BridgeConfig::default()`
/// when there is no such file). First use must happen inside a tokio
/// runtime.
pub fn default_bridge() -> Result<Bridge> {
    let mut slot = DEFAULT_BRIDGE.lock();
    if let Some(bridge) = slot.as_ref() {
        return Ok(bridge.clone());
    }
    let bridge = Bridge::with_pools(crate::from_config::discover_pools_or_default()?)?;
    *slot = Some(bridge.clone());
    Ok(bridge)
}
