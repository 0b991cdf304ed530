//! Tensor shapes and the only copy of the window arithmetic (convolution and pooling output
//! sizes, PyTorch's ceil-mode rule, adaptive pooling bounds). Every other module asks here.
//!
//! All activations are NCHW. Parameters reuse [`Shape`] with their own meaning of the four
//! dimensions (a conv weight is `[C_out, C_in/groups, kH, kW]`, a linear weight `[out, in, 1, 1]`,
//! a bias `[C, 1, 1, 1]`), so one type serves everything the GPU stores.

use crate::error::{Error, Result};
use std::fmt;

/// A 4-D shape, NCHW for activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    /// `[n, c, h, w]`.
    pub const fn new(n: usize, c: usize, h: usize, w: usize) -> Self {
        Shape { n, c, h, w }
    }

    /// A `[n, features]` matrix stored as `[n, features, 1, 1]`.
    pub const fn matrix(n: usize, features: usize) -> Self {
        Shape::new(n, features, 1, 1)
    }

    /// A vector of `len` values stored as `[len, 1, 1, 1]`.
    pub const fn vector(len: usize) -> Self {
        Shape::new(len, 1, 1, 1)
    }

    /// Number of elements.
    pub const fn numel(&self) -> usize {
        self.n * self.c * self.h * self.w
    }

    /// Number of elements, `None` when the product passes `usize` (shapes from user input).
    pub fn checked_numel(&self) -> Option<usize> {
        self.n
            .checked_mul(self.c)?
            .checked_mul(self.h)?
            .checked_mul(self.w)
    }

    /// Number of elements of a shape from user input; an error naming `what` when the product
    /// passes `usize` or its f32 bytes the host budget ([`crate::limits::host_bytes`]).
    pub fn try_numel(&self, what: &str) -> Result<usize> {
        let n = crate::limits::product(&self.dims(), what)?;
        crate::limits::host_bytes(n, what)?;
        Ok(n)
    }

    /// Elements of one sample (`c·h·w`).
    pub const fn per_sample(&self) -> usize {
        self.c * self.h * self.w
    }

    /// The same shape with another batch size.
    pub const fn with_n(&self, n: usize) -> Self {
        Shape::new(n, self.c, self.h, self.w)
    }

    /// Flat index of `(n, c, h, w)` in C order.
    pub const fn index(&self, n: usize, c: usize, h: usize, w: usize) -> usize {
        ((n * self.c + c) * self.h + h) * self.w + w
    }

    /// `(n, c, h, w)` of a flat index.
    pub const fn unravel(&self, i: usize) -> (usize, usize, usize, usize) {
        let w = i % self.w;
        let h = (i / self.w) % self.h;
        let c = (i / (self.w * self.h)) % self.c;
        (i / self.per_sample(), c, h, w)
    }

    /// The four dimensions as a slice-friendly array.
    pub const fn dims(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}, {}, {}]", self.n, self.c, self.h, self.w)
    }
}

/// One spatial axis of a sliding window (convolution or pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    /// Implicit zero (or −∞) padding before the first element.
    pub pad_before: usize,
    /// Padding after the last element (equal to `pad_before` in PyTorch's symmetric layers).
    pub pad_after: usize,
    pub dilation: usize,
    /// PyTorch's `ceil_mode` (pooling only; convolution always floors).
    pub ceil_mode: bool,
}

impl Window {
    /// A window with symmetric padding, no dilation, floor rounding.
    pub const fn new(kernel: usize, stride: usize, pad: usize) -> Self {
        Window {
            kernel,
            stride,
            pad_before: pad,
            pad_after: pad,
            dilation: 1,
            ceil_mode: false,
        }
    }

    /// Span covered by the dilated kernel: `dilation·(kernel−1)+1`.
    pub const fn span(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// Output length for an input of length `input`, following PyTorch exactly:
    /// `floor_or_ceil((input + pads − span) / stride) + 1`, and in ceil mode one less when the
    /// last window would start at or after `input + pad_before` (it must start inside the input
    /// or the leading padding). In ceil mode a window may be larger than the input (a 3/2 pool
    /// of a 2×2 input gives 1×1), as in PyTorch. See `pooling_output_shape` in ATen.
    pub fn output_len(&self, input: usize) -> std::result::Result<usize, String> {
        if self.kernel == 0 || self.stride == 0 || self.dilation == 0 {
            return Err("kernel, stride and dilation must be positive".into());
        }
        // i128: no usize input, padding or span can wrap it.
        let (stride, span) = (self.stride as i128, self.span() as i128);
        let padded = input as i128 + self.pad_before as i128 + self.pad_after as i128;
        let round_up = if self.ceil_mode { stride - 1 } else { 0 };
        let mut out = (padded - span + round_up).div_euclid(stride) + 1;
        if self.ceil_mode
            && out > 0
            && (out - 1) * stride >= input as i128 + self.pad_before as i128
        {
            out -= 1;
        }
        if out <= 0 {
            return Err(format!(
                "input length {input} with padding {}+{} is smaller than the kernel span {}",
                self.pad_before,
                self.pad_after,
                self.span()
            ));
        }
        usize::try_from(out).map_err(|_| format!("output length {out} is too large"))
    }
}

/// A 2-D window (height axis, width axis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    pub h: Window,
    pub w: Window,
}

impl Window2d {
    /// Square kernel, equal stride and symmetric padding on both axes.
    pub const fn square(kernel: usize, stride: usize, pad: usize) -> Self {
        Window2d {
            h: Window::new(kernel, stride, pad),
            w: Window::new(kernel, stride, pad),
        }
    }

    /// Output `(height, width)` for an input of `(h, w)`; errors name `layer`.
    pub fn output_hw(&self, layer: &str, h: usize, w: usize) -> Result<(usize, usize)> {
        let oh = self.h.output_len(h).map_err(|m| Error::shape(layer, m))?;
        let ow = self.w.output_len(w).map_err(|m| Error::shape(layer, m))?;
        Ok((oh, ow))
    }

    /// Same window with ceil-mode rounding on both axes.
    pub const fn ceil(mut self) -> Self {
        self.h.ceil_mode = true;
        self.w.ceil_mode = true;
        self
    }

    /// Same window with dilation `d` on both axes.
    pub const fn dilated(mut self, d: usize) -> Self {
        self.h.dilation = d;
        self.w.dilation = d;
        self
    }
}

/// Input range `[start, end)` pooled into output index `i` of `out` by adaptive pooling over an
/// input of length `input`: `start = floor(i·input/out)`, `end = ceil((i+1)·input/out)`
/// (PyTorch's `AdaptiveAvgPool2d`).
pub const fn adaptive_range(i: usize, input: usize, out: usize) -> (usize, usize) {
    let start = (i * input) / out;
    let end = ((i + 1) * input).div_ceil(out);
    (start, end)
}
