//! Comparing a result with its reference under named tolerances: relative L2 error
//! `‖got − want‖ / ‖want‖` and an element-wise bound `|got − want| ≤ atol·‖want‖∞ + rtol·|want|`.
//! The absolute part scales with the tensor's largest magnitude because f32 rounding error is
//! proportional to the magnitude of what was summed, not to the (possibly cancelled) result:
//! deep in a random-weight ResNet activations reach the hundreds, and an element that sums to
//! 0.01 carries the rounding of terms of that size.
//! A NaN anywhere in `got` (e.g. an element a kernel never wrote over the NaN poison) fails.

use crate::tensor::Tensor;
use std::fmt;

/// Acceptance thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Bound on `‖got − want‖ / ‖want‖`.
    pub rel_l2: f64,
    /// Absolute element-wise slack, as a fraction of `‖want‖∞`.
    pub atol: f64,
    /// Relative element-wise slack, as a fraction of `|want|`.
    pub rtol: f64,
}

/// One op, f32 on the GPU vs the f64-accumulating CPU reference.
pub const OP_TOLERANCE: Tolerance = Tolerance {
    rel_l2: 1e-5,
    atol: 1e-5,
    rtol: 1e-4,
};
/// A whole network's output.
pub const NET_TOLERANCE: Tolerance = Tolerance {
    rel_l2: 1e-4,
    atol: 1e-4,
    rtol: 1e-3,
};

/// The outcome of a comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub rel_l2: f64,
    pub max_abs: f64,
    /// `‖want‖∞`, the scale of the absolute bound.
    pub scale: f64,
    /// Elements outside the element-wise bound (NaN included).
    pub bad: usize,
    /// The first few of them: `(n, c, h, w, got, want)`.
    pub first_bad: Vec<(usize, usize, usize, usize, f32, f32)>,
    pub tolerance: Tolerance,
}

impl Comparison {
    /// Whether both bounds hold and nothing is NaN.
    pub fn passed(&self) -> bool {
        self.bad == 0 && self.rel_l2 <= self.tolerance.rel_l2
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rel L2 {:.3e} (≤ {:.0e}), max |Δ| {:.3e} (max |ref| {:.3e}), {} element(s) out of bounds",
            self.rel_l2, self.tolerance.rel_l2, self.max_abs, self.scale, self.bad
        )?;
        for (n, c, h, w, g, r) in &self.first_bad {
            write!(f, "; [{n},{c},{h},{w}] got {g} want {r}")?;
        }
        Ok(())
    }
}

/// Compares `got` with `want` (shapes must match; a mismatch counts every element as bad).
pub fn compare(got: &Tensor, want: &Tensor, tolerance: Tolerance) -> Comparison {
    let mut c = Comparison {
        rel_l2: f64::INFINITY,
        max_abs: f64::INFINITY,
        scale: 0.0,
        bad: want.data.len().max(1),
        first_bad: Vec::new(),
        tolerance,
    };
    if got.shape != want.shape {
        return c;
    }
    let scale = want
        .data
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f64, |m, v| m.max((*v as f64).abs()));
    let atol = tolerance.atol * scale.max(f64::MIN_POSITIVE);
    let (mut diff2, mut ref2, mut max_abs, mut bad) = (0f64, 0f64, 0f64, 0usize);
    for (i, (g, r)) in got.data.iter().zip(&want.data).enumerate() {
        let (g64, r64) = (*g as f64, *r as f64);
        // Equal values match, equal infinities included (−∞ − −∞ would be NaN); an infinity
        // against anything else is a mismatch (its bound atol + rtol·∞ would accept it).
        let d = if g64 == r64 { 0.0 } else { (g64 - r64).abs() };
        diff2 += d * d;
        ref2 += if r64.is_finite() { r64 * r64 } else { 0.0 };
        max_abs = max_abs.max(d);
        if d.is_nan() || d.is_infinite() || d > atol + tolerance.rtol * r64.abs() {
            bad += 1;
            if c.first_bad.len() < 5 {
                let (n, ch, h, w) = want.shape.unravel(i);
                c.first_bad.push((n, ch, h, w, *g, *r));
            }
        }
    }
    c.rel_l2 = if ref2 > 0.0 {
        (diff2 / ref2).sqrt()
    } else {
        diff2.sqrt()
    };
    if diff2.is_nan() {
        c.rel_l2 = f64::INFINITY;
    }
    c.max_abs = if diff2.is_nan() {
        f64::INFINITY
    } else {
        max_abs
    };
    c.bad = bad;
    c.scale = scale;
    c
}
