//! Image decoding and torchvision's preprocessing, reproduced bit for bit: resize the shorter
//! side (antialiased bilinear, the separable triangle filter PIL and torchvision use, horizontal
//! pass then vertical, with Pillow's 22-bit fixed-point coefficients and rounding to 8 bits in
//! between, as `Resample.c` does), centre crop (Python's round-half-even offsets), scale to
//! [0, 1], normalise with the mean and std. LeNet-5 takes MNIST-style digits: grayscale (PIL's
//! `convert("L")`: ITU-R 601-2 luma), 28×28, padded by 2 to 32×32, MNIST mean/std.

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::collections::BTreeMap;
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

/// torchvision's GoogLeNet `transform_input` (its pretrained weights, ported from TensorFlow,
/// expect it): channel c of an ImageNet-normalised input becomes `x·(std_c/0.5) +
/// (mean_c − 0.5)/0.5`, i.e. the input normalised as `(p − 0.5)/0.5` instead.
pub fn transform_input(t: &mut Tensor) -> Result<()> {
    if t.shape.c != 3 {
        return Err(Error::Invalid(format!(
            "transform_input needs 3 input channels, the input is {}",
            t.shape
        )));
    }
    let plane = t.shape.h * t.shape.w;
    for (i, chunk) in t.data.chunks_mut(plane).enumerate() {
        let c = i % 3;
        let scale = (IMAGENET_STD[c] as f64 / 0.5) as f32;
        let shift = ((IMAGENET_MEAN[c] as f64 - 0.5) / 0.5) as f32;
        chunk.iter_mut().for_each(|v| *v = *v * scale + shift);
    }
    Ok(())
}

impl Preprocess {
    /// This preprocessing with the overrides a weight file's metadata gives (`resize_size`,
    /// `crop_size`, `mean`, `std`; as written by `scripts/export_torchvision.py`).
    pub fn with_metadata(mut self, meta: &BTreeMap<String, String>) -> Result<Preprocess> {
        let bad = |k: &str, v: &str| {
            Error::Invalid(format!("weight file metadata: {k} = '{v}' is not valid"))
        };
        let size = |k: &str| -> Result<Option<usize>> {
            meta.get(k)
                .map(|v| {
                    v.trim()
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| bad(k, v))
                })
                .transpose()
        };
        let list = |k: &str, channels: usize| -> Result<Option<Vec<f32>>> {
            meta.get(k)
                .map(|v| {
                    let vals: Option<Vec<f32>> =
                        v.split(',').map(|x| x.trim().parse().ok()).collect();
                    vals.filter(|l| l.len() == channels)
                        .ok_or_else(|| bad(k, v))
                })
                .transpose()
        };
        self.resize = size("resize_size")?.unwrap_or(self.resize);
        self.crop = size("crop_size")?.unwrap_or(self.crop);
        let channels = self.mean.len();
        self.mean = list("mean", channels)?.unwrap_or(self.mean);
        self.std = list("std", channels)?.unwrap_or(self.std);
        Ok(self)
    }

    /// What network `name` expects of its input given its weight file (`None` for built-in
    /// or random weights): the preprocessing with the file's metadata applied
    /// ([`Preprocess::with_metadata`]), and whether the file asks for torchvision's
    /// [`transform_input`] (`transform_input = true`).
    pub fn for_weights(name: &str, weights: Option<&Path>) -> Result<(Preprocess, bool)> {
        let meta = match weights {
            Some(path) => crate::models::weights::read_metadata(path)?,
            None => BTreeMap::new(),
        };
        let transform = meta.get("transform_input").is_some_and(|v| v == "true");
        Ok((
            Preprocess::for_network(name).with_metadata(&meta)?,
            transform,
        ))
    }

    /// The side of the square tensor this preprocessing produces (crop plus padding).
    pub fn size(&self) -> usize {
        self.crop + 2 * self.pad
    }

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
            match img {
                image::DynamicImage::ImageLuma8(g) => g.into_raw(),
                other => pil_luma(&other.to_rgb8().into_raw()),
            }
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
        let side = self.size();
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

/// PIL's `convert("L")` of RGB pixels: `(19595·R + 38470·G + 7471·B + 2¹⁵) >> 16` (ITU-R
/// 601-2 luma, L = R·299/1000 + G·587/1000 + B·114/1000). The `image` crate's own conversion
/// uses Rec. 709 weights and would differ from PyTorch pipelines.
fn pil_luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            let l = 19595 * p[0] as u32 + 38470 * p[1] as u32 + 7471 * p[2] as u32 + 0x8000;
            (l >> 16) as u8
        })
        .collect()
}

/// Bits of Pillow's fixed-point filter coefficients (`PRECISION_BITS` in `Resample.c`).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Resamples one 8-bit plane along one axis with PIL's antialiased bilinear (triangle) filter,
/// in Pillow's integer arithmetic: `clip8((2^21 + Σ pixel·coefficient) >> 22)`. A pass that
/// keeps the length is skipped, as Pillow skips it.
fn resample(src: &[u8], w: usize, h: usize, out_len: usize, horizontal: bool) -> Vec<u8> {
    let in_len = if horizontal { w } else { h };
    if in_len == out_len {
        return src.to_vec();
    }
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
            let mut acc: i64 = 1 << (PRECISION_BITS - 1);
            for (k, wt) in ws.iter().enumerate() {
                let j = start + k;
                let p = if horizontal {
                    src[fixed * w + j]
                } else {
                    src[j * w + fixed]
                };
                acc += p as i64 * *wt as i64;
            }
            out[y * ow + x] = (acc >> PRECISION_BITS).clamp(0, 255) as u8;
        }
    }
    out
}

/// For each output index: the first input index and the fixed-point weights from there
/// (Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`).
fn filter_weights(in_len: usize, out_len: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = in_len as f64 / out_len as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the bilinear (triangle) filter has support 1
    let one = (1u32 << PRECISION_BITS) as f64;
    (0..out_len)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).trunc().max(0.0)) as usize;
            let hi = ((center + support + 0.5).trunc() as usize).min(in_len);
            let ss = 1.0 / filter_scale;
            let ws: Vec<f64> = (lo..hi)
                .map(|j| (1.0 - ((j as f64 - center + 0.5) * ss).abs()).max(0.0))
                .collect();
            let total: f64 = ws.iter().sum();
            let fixed = ws
                .iter()
                .map(|v| {
                    let v = if total != 0.0 { v / total } else { *v };
                    // C's (int) truncation of ±0.5 + v·2^22: rounding half away from zero.
                    (if v < 0.0 {
                        -0.5 + v * one
                    } else {
                        0.5 + v * one
                    })
                    .trunc() as i32
                })
                .collect();
            (lo, fixed)
        })
        .collect()
}
