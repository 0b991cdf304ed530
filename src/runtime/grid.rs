//! Folding a linear workgroup count into a 2-D grid when it exceeds the per-dimension limit
//! (65,535 on most devices). Shaders recover `linear = wid.x + wid.y · nwg.x` and ignore
//! indices past their work, so the fold may overshoot by less than one row.

use crate::error::{Error, Result};

/// `[x, y, 1]` with `x·y ≥ total`, `x, y ≤ max_dim`, and the overshoot below `x`.
pub fn fold(total: u32, max_dim: u32) -> Result<[u32; 3]> {
    if total <= max_dim {
        return Ok([total, 1, 1]);
    }
    let y = total.div_ceil(max_dim);
    if y > max_dim {
        return Err(Error::Limit {
            limit: "max_compute_workgroups_per_dimension",
            value: max_dim as u64,
            needed: total as u64,
            what: "a dispatch (squared, after folding)".into(),
        });
    }
    Ok([total.div_ceil(y), y, 1])
}
