//! The CLI's value parsers: every count and size a flag takes is bounded by
//! [`deeper::limits`] before anything is built, and the message states the limit (clap prints
//! it as one line and exits with status 2).

use deeper::limits;

/// Parses comma-separated finite floats (`--mean`).
pub(crate) fn floats(s: &str) -> Result<Vec<f32>, String> {
    s.split(',')
        .map(|v| match v.trim().parse::<f32>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(format!("'{}' is not a finite number", v.trim())),
        })
        .collect()
}

/// Parses comma-separated floats that must be finite and positive (`--std`).
pub(crate) fn positive_floats(s: &str) -> Result<Vec<f32>, String> {
    let v = floats(s)?;
    match v.iter().find(|x| **x <= 0.0) {
        Some(x) => Err(format!("{x} is not > 0")),
        None => Ok(v),
    }
}

/// Parses a count that must be positive (`--top`).
pub(crate) fn at_least_one(s: &str) -> Result<usize, String> {
    bounded(s, usize::MAX)
}

/// Parses a count in `1..=limit`; the message states the limit.
pub(crate) fn bounded(s: &str, limit: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > limit => Err(format!("{n} is over the limit of {limit}")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `--batch`: 1 to [`limits::MAX_BATCH`].
pub(crate) fn batch(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_BATCH)
}

/// `--size`: 1 to [`limits::MAX_SIDE`].
pub(crate) fn side(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_SIDE)
}

/// `--classes`: 1 to [`limits::MAX_CHANNELS`].
pub(crate) fn classes(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_CHANNELS)
}

/// `--runs`: 1 to [`limits::MAX_RUNS`].
pub(crate) fn runs(s: &str) -> Result<usize, String> {
    bounded(s, limits::MAX_RUNS)
}
