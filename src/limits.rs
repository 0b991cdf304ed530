//! The stated bounds on everything a user's file, flag or environment value can make `deeper`
//! size, and the checked arithmetic that applies them. A size computed from input is never
//! allowed to wrap or to reach the allocator unchecked: it is computed with `checked_*`, compared
//! with a bound here, and host buffers whose length comes from input are reserved with
//! `try_reserve`, so running out of memory is an error, not an abort. Each refusal names what
//! asked (the file or flag), the size asked for and the limit.
//!
//! GPU data is bounded by the device's own limits (`runtime::Gpu::check_size`); these are the
//! host-side and sanity bounds.

use crate::error::{Error, Result};

/// Largest input height or width (`--size`, an `.npy` input's H and W, preprocessing sizes).
/// Sixteen times ImageNet's 1,024-pixel photos; a network at this size already needs tens of GB.
pub const MAX_SIDE: usize = 16_384;
/// Largest batch (`--batch`, an `.npy` input's N, the number of `--image` files).
pub const MAX_BATCH: usize = 65_536;
/// Largest `--runs`.
pub const MAX_RUNS: usize = 100_000;
/// Largest host tensor (input, one weight, logits): 1 GiB. VGG's fc6 weight, the largest in
/// any network here, is 411 MB; a batch of 1,000 ImageNet inputs is 602 MB. Compiling and
/// checking a network holds a few copies of its weights, so a bound of 4 GiB let `check
/// lenet5 --size 2048` (a 2 GB fc1) abort under a 6 GB address-space cap.
pub const MAX_HOST_TENSOR_BYTES: u64 = 1 << 30;
/// Most bytes of activations the CPU reference keeps at once (`cpu::run` keeps every value of
/// the graph: VGG-16 at batch 64 keeps 3.9 GB).
pub const MAX_CPU_ACTIVATION_BYTES: u64 = 6 << 30;
/// Largest image plane handled by preprocessing (decoded or resized, pixels per channel):
/// 64 Mpixel, a 10,000 × 6,400 photo.
pub const MAX_IMAGE_PIXELS: u64 = 64 << 20;
/// Largest ratio of an image's long side to its short side (a wide panorama is about 10:1).
pub const MAX_ASPECT: usize = 100;
/// Largest channel count of an `.npy` input.
pub const MAX_CHANNELS: usize = 65_536;

/// `what` asks for `asked`, more than `limit`: the one wording of every refusal here.
pub fn too_large(
    what: &str,
    asked: impl std::fmt::Display,
    limit: impl std::fmt::Display,
) -> Error {
    Error::Invalid(format!("{what} is {asked}, over the limit of {limit}"))
}

/// The product of `dims`, or an error naming `what` when it passes `usize`.
pub fn product(dims: &[usize], what: &str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{what}: {dims:?} has more elements than this machine can address"
            ))
        })
}

/// `count` f32 values as bytes, checked against [`MAX_HOST_TENSOR_BYTES`].
pub fn host_bytes(count: usize, what: &str) -> Result<usize> {
    let bytes = (count as u64)
        .checked_mul(4)
        .filter(|b| *b <= MAX_HOST_TENSOR_BYTES)
        .ok_or_else(|| {
            too_large(
                &format!("{what} ({count} values)"),
                format_args!("{} bytes", (count as u128) * 4),
                format_args!("{MAX_HOST_TENSOR_BYTES} bytes"),
            )
        })?;
    Ok(bytes as usize)
}

/// `value` if it is at most `limit`, else an error naming `what`.
pub fn at_most(value: usize, limit: usize, what: &str) -> Result<usize> {
    if value > limit {
        return Err(too_large(what, value, limit));
    }
    Ok(value)
}

/// A vector of `len` copies of `value`, its length checked against the host budget
/// ([`host_bytes`] for f32-sized elements) and reserved fallibly.
pub fn try_vec<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = try_with_capacity(len, what)?;
    v.resize(len, value);
    Ok(v)
}

/// An empty vector with room for `len` elements, reserved fallibly.
pub fn try_with_capacity<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let elem = std::mem::size_of::<T>().max(1) as u64;
    let bytes = (len as u64).saturating_mul(elem);
    if bytes > MAX_HOST_TENSOR_BYTES {
        return Err(too_large(
            what,
            format_args!("{} bytes", len as u128 * elem as u128),
            format_args!("{MAX_HOST_TENSOR_BYTES} bytes"),
        ));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::Invalid(format!(
            "{what}: out of host memory reserving {bytes} bytes"
        ))
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflowing_products_and_budgets_are_errors() {
        assert_eq!(product(&[2, 3, 4], "x").unwrap(), 24);
        assert_eq!(product(&[], "x").unwrap(), 1);
        let e = product(&[1 << 62, 4, 1, 1], "a.npy shape").unwrap_err();
        assert!(e.to_string().contains("a.npy shape"), "{e}");
        assert!(product(&[1, 1, 1 << 32, 1 << 32], "s").is_err());
        assert_eq!(host_bytes(10, "t").unwrap(), 40);
        let e = host_bytes(usize::MAX, "input").unwrap_err().to_string();
        assert!(e.contains("input") && e.contains("limit"), "{e}");
        assert!(host_bytes((MAX_HOST_TENSOR_BYTES / 4) as usize + 1, "t").is_err());
        assert!(try_vec(usize::MAX, 0f32, "v").is_err());
        assert_eq!(try_vec(3, 1u8, "v").unwrap(), [1, 1, 1]);
        assert!(at_most(MAX_SIDE + 1, MAX_SIDE, "--size").is_err());
    }
}
