//! Image decoding and torchvision's preprocessing, reproduced: resize the shorter side
//! (antialiased bilinear, the separable triangle filter PIL and torchvision use, horizontal
//! pass then vertical, rounded to 8 bits in between as PIL does), centre crop (Python's
//! round-half-even offsets), scale to [0, 1], normalise with the mean and std.
//! LeNet-5 takes MNIST-style digits: grayscale, 28×28, padded by 2 to 32×32, MNIST mean/std.

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::path::Path;

/// How to turn an image into a network input.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Shorter side after resizing.
    pub resize: usize,
    /// Centre crop size (square).
    pub crop: usize,
    /// Zero padding added around the crop on every side.
    pub pad: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// ImageNet channel means and standard deviations (torchvision's `ImageClassification`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl Preprocess {
    /// The preprocessing network `name` expects: 256 → 224 for ImageNet networks (227 for
    /// alexnet-paper), grayscale 28 → padded 32 for lenet5.
    pub fn for_network(name: &str) -> Preprocess {
        match name {
            "lenet5" => Preprocess {
                resize: 28,
                crop: 28,
                pad: 2,
                mean: vec![0.1307],
                std: vec![0.3081],
            },
            _ => Preprocess {
                resize: 256,
                crop: if name == "alexnet-paper" { 227 } else { 224 },
                pad: 0,
                mean: IMAGENET_MEAN.to_vec(),
                std: IMAGENET_STD.to_vec(),
            },
        }
    }

    /// Decodes `path` and preprocesses it into a `[1, C, crop + 2·pad, crop + 2·pad]` tensor.
    pub fn load(&self, path: &Path) -> Result<Tensor> {
        let img = image::open(path).map_err(|e| {
            Error::Invalid(format!("{}: cannot decode image ({e})", path.display()))
        })?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        let channels = self.mean.len();
        let pixels: Vec<u8> = if channels == 1 {
            img.to_luma8().into_raw()
        } else {
            img.to_rgb8().into_raw()
        };
        Ok(self.apply(&pixels, w, h, channels))
    }

    /// Preprocesses interleaved 8-bit pixels (`h` rows of `w` pixels of `channels` bytes).
    pub fn apply(&self, pixels: &[u8], w: usize, h: usize, channels: usize) -> Tensor {
        let (nw, nh) = resized_size(w, h, self.resize);
        let planes: Vec<Vec<u8>> = (0..channels)
            .map(|c| {
                let plane: Vec<u8> = pixels.iter().skip(c).step_by(channels).copied().collect();
                let wide = resample(&plane, w, h, nw, true);
                resample(&wide, nw, h, nh, false)
            })
            .collect();
        let top = round_half_even((nh as f64 - self.crop as f64) / 2.0);
        let left = round_half_even((nw as f64 - self.crop as f64) / 2.0);
        let side = self.crop + 2 * self.pad;
        let mut t = Tensor::zeros(Shape::new(1, channels, side, side));
        for (c, plane) in planes.iter().enumerate() {
            let zero = (0.0 - self.mean[c]) / self.std[c];
            for y in 0..side {
                for x in 0..side {
                    let (sy, sx) = (
                        y as isize - self.pad as isize + top,
                        x as isize - self.pad as isize + left,
                    );
                    let inside = y >= self.pad
                        && x >= self.pad
                        && y < self.pad + self.crop
                        && x < self.pad + self.crop;
                    let inside =
                        inside && sy >= 0 && sx >= 0 && (sy as usize) < nh && (sx as usize) < nw;
                    let v = if inside {
                        (plane[sy as usize * nw + sx as usize] as f32 / 255.0 - self.mean[c])
                            / self.std[c]
                    } else {
                        zero
                    };
                    t.data[t.shape.index(0, c, y, x)] = v;
                }
            }
        }
        t
    }
}

/// torchvision's `Resize(size)`: the shorter side becomes `size`, the longer `int(size·long/short)`.
fn resized_size(w: usize, h: usize, size: usize) -> (usize, usize) {
    if w <= h {
        (size, (size as f64 * h as f64 / w as f64) as usize)
    } else {
        ((size as f64 * w as f64 / h as f64) as usize, size)
    }
}

fn round_half_even(v: f64) -> isize {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 && r as isize % 2 != 0 {
        (r - v.signum()) as isize
    } else {
        r as isize
    }
}

/// Resamples one 8-bit plane along one axis with PIL's antialiased bilinear (triangle) filter.
fn resample(src: &[u8], w: usize, h: usize, out_len: usize, horizontal: bool) -> Vec<u8> {
    let in_len = if horizontal { w } else { h };
    let weights = filter_weights(in_len, out_len);
    let (ow, oh) = if horizontal {
        (out_len, h)
    } else {
        (w, out_len)
    };
    let mut out = vec![0u8; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let (i, fixed) = if horizontal { (x, y) } else { (y, x) };
            let (start, ws) = &weights[i];
            let v: f64 = ws
                .iter()
                .enumerate()
                .map(|(k, wt)| {
                    let j = start + k;
                    let p = if horizontal {
                        src[fixed * w + j]
                    } else {
                        src[j * w + fixed]
                    };
                    p as f64 * wt
                })
                .sum();
            out[y * ow + x] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// For each output index: the first input index and the normalised weights from there.
fn filter_weights(in_len: usize, out_len: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = in_len as f64 / out_len as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the bilinear (triangle) filter has support 1
    (0..out_len)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).trunc().max(0.0)) as usize;
            let hi = ((center + support + 0.5).trunc() as usize).min(in_len);
            let ws: Vec<f64> = (lo..hi)
                .map(|j| (1.0 - ((j as f64 - center + 0.5) / filter_scale).abs()).max(0.0))
                .collect();
            let total: f64 = ws.iter().sum();
            (
                lo,
                ws.iter()
                    .map(|v| if total > 0.0 { v / total } else { 0.0 })
                    .collect(),
            )
        })
        .collect()
}
