//! Image decoding and torchvision's preprocessing, reproduced bit for bit: resize the shorter
//! side (antialiased bilinear, the separable triangle filter PIL and torchvision use, horizontal
//! pass then vertical, with Pillow's 22-bit fixed-point coefficients and rounding to 8 bits in
//! between, as `Resample.c` does), centre crop (Python's round-half-even offsets), scale to
//! [0, 1], normalise with the mean and std. LeNet-5 takes MNIST-style digits: grayscale (PIL's
//! `convert("L")`: ITU-R 601-2 luma), 28×28, padded by 2 to 32×32, MNIST mean/std.
//!
//! Hostile images and metadata are refused before memory is asked for: the format is detected
//! from the content (a PNG named `.jpg` decodes), the decoder keeps the `image` crate's 512 MiB
//! allocation limit, and an image's aspect ratio and every plane preprocessing would allocate
//! are checked against [`crate::limits`]. A JPEG without its end marker decodes as the `image`
//! crate decodes it (the missing part filled in) with a warning on stderr. Metadata values are
//! finite, `std > 0`, `crop_size ≤ resize_size ≤` [`crate::limits::MAX_SIDE`].

use crate::error::{Error, Result};
use crate::limits::{self, MAX_ASPECT, MAX_IMAGE_PIXELS, MAX_SIDE};
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
        let bad = |k: &str, v: &str, why: &str| {
            Error::Invalid(format!(
                "weight file metadata: {k} = '{v}' is not valid ({why})"
            ))
        };
        let size = |k: &str| -> Result<Option<usize>> {
            meta.get(k)
                .map(|v| {
                    v.trim()
                        .parse()
                        .ok()
                        .filter(|s| (1..=MAX_SIDE).contains(s))
                        .ok_or_else(|| bad(k, v, &format!("a size from 1 to {MAX_SIDE}")))
                })
                .transpose()
        };
        let list = |k: &str, channels: usize, positive: bool| -> Result<Option<Vec<f32>>> {
            meta.get(k)
                .map(|v| {
                    let vals: Option<Vec<f32>> =
                        v.split(',').map(|x| x.trim().parse().ok()).collect();
                    let why = if positive {
                        format!("{channels} finite values > 0, comma-separated")
                    } else {
                        format!("{channels} finite values, comma-separated")
                    };
                    vals.filter(|l| {
                        l.len() == channels
                            && l.iter().all(|x| x.is_finite() && (!positive || *x > 0.0))
                    })
                    .ok_or_else(|| bad(k, v, &why))
                })
                .transpose()
        };
        self.resize = size("resize_size")?.unwrap_or(self.resize);
        self.crop = size("crop_size")?.unwrap_or(self.crop);
        if self.crop > self.resize {
            return Err(Error::Invalid(format!(
                "weight file metadata: crop_size {} is larger than resize_size {}",
                self.crop, self.resize
            )));
        }
        let channels = self.mean.len();
        self.mean = list("mean", channels, false)?.unwrap_or(self.mean);
        self.std = list("std", channels, true)?.unwrap_or(self.std);
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
        let named = |e: Error| match weights {
            Some(path) => Error::Invalid(format!("{}: {e}", path.display())),
            None => e,
        };
        let pre = Preprocess::for_network(name)
            .with_metadata(&meta)
            .map_err(named)?;
        let transform = match meta.get("transform_input").map(String::as_str) {
            None | Some("false") => false,
            Some("true") if pre.mean.len() == 3 => true,
            Some("true") => {
                return Err(named(Error::Invalid(format!(
                    "weight file metadata: transform_input = 'true', but {name} takes {} \
                     input channel(s), not 3",
                    pre.mean.len()
                ))))
            }
            Some(v) => {
                return Err(named(Error::Invalid(format!(
                    "weight file metadata: transform_input = '{v}' is not valid ('true' or 'false')"
                ))))
            }
        };
        Ok((pre, transform))
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

    /// Decodes `path` (format from its content) and preprocesses it into a
    /// `[1, C, crop + 2·pad, crop + 2·pad]` tensor; errors name the file.
    pub fn load(&self, path: &Path) -> Result<Tensor> {
        let bytes = crate::files::read_whole(path)?;
        self.decode(&bytes, &path.display().to_string())
    }

    /// Decodes an encoded image held in memory (`bytes` of a JPEG or PNG file, e.g. read from
    /// object storage) as [`Preprocess::load`] decodes a file; errors and warnings name `name`.
    pub fn decode(&self, bytes: &[u8], name: &str) -> Result<Tensor> {
        let named = |m: String| Error::Invalid(format!("{name}: {m}"));
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| named(format!("cannot read image ({e})")))?;
        let Some(format) = reader.format() else {
            return Err(named(
                "not a JPEG or PNG image (its content is neither)".into(),
            ));
        };
        let decoder = reader
            .into_decoder()
            .map_err(|e| named(format!("cannot decode image ({e})")))?;
        let (w, h) = image::ImageDecoder::dimensions(&decoder);
        let (w, h) = (w as usize, h as usize);
        self.check_image(w, h).map_err(named)?;
        if format == image::ImageFormat::Jpeg && !has_jpeg_end(bytes) {
            eprintln!(
                "warning: {name}: JPEG data is truncated (no end marker); the missing part is filled in"
            );
        }
        let img = image::DynamicImage::from_decoder(decoder)
            .map_err(|e| named(format!("cannot decode image ({e})")))?;
        let channels = self.mean.len();
        let pixels: Vec<u8> = if channels == 1 {
            match img {
                image::DynamicImage::ImageLuma8(g) => g.into_raw(),
                other => pil_luma(&other.to_rgb8().into_raw()),
            }
        } else {
            img.to_rgb8().into_raw()
        };
        self.apply(&pixels, w, h, channels)
            .map_err(|e| named(e.to_string()))
    }

    /// Whether a `w × h` image can be preprocessed within [`crate::limits`]: not empty, an
    /// aspect ratio of at most [`MAX_ASPECT`], and every plane the resize makes (the
    /// horizontal pass `new_w × h`, the result `new_w × new_h`) at most [`MAX_IMAGE_PIXELS`].
    pub fn check_image(&self, w: usize, h: usize) -> std::result::Result<(), String> {
        if w == 0 || h == 0 {
            return Err(format!("image is {w} × {h} pixels"));
        }
        if w.max(h) / w.min(h) > MAX_ASPECT {
            return Err(format!(
                "image of {w} × {h} pixels has an aspect ratio over the limit of {MAX_ASPECT}:1"
            ));
        }
        let (nw, nh) = resized_size(w, h, self.resize);
        for (what, a, b) in [
            ("image", w, h),
            ("resize pass", nw, h),
            ("resized image", nw, nh),
        ] {
            let px = (a as u64).saturating_mul(b as u64);
            if px > MAX_IMAGE_PIXELS {
                return Err(format!(
                    "{what} of {a} × {b} = {px} pixels is over the limit of {MAX_IMAGE_PIXELS} pixels"
                ));
            }
        }
        Ok(())
    }

    /// Preprocesses interleaved 8-bit pixels (`h` rows of `w` pixels of `channels` bytes).
    pub fn apply(&self, pixels: &[u8], w: usize, h: usize, channels: usize) -> Result<Tensor> {
        let invalid = |m: String| Error::Invalid(m);
        self.check_image(w, h).map_err(invalid)?;
        let need = limits::product(&[w, h, channels], "image")?;
        if pixels.len() != need || channels != self.mean.len() {
            return Err(invalid(format!(
                "{} bytes of pixels for a {w} × {h} image of {channels} channel(s) ({} expected)",
                pixels.len(),
                self.mean.len()
            )));
        }
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
        Ok(t)
    }
}

/// Whether JPEG data ends with its end-of-image marker (`FF D9`, trailing zeros or
/// whitespace allowed): a file cut short lacks it, and Pillow refuses such a file.
fn has_jpeg_end(bytes: &[u8]) -> bool {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, 0 | b'\n' | b'\r' | b' '))
        .map_or(0, |i| i + 1);
    bytes[..end].ends_with(&[0xFF, 0xD9])
}

/// torchvision's `Resize(size)`: the shorter side becomes `size`, the longer `int(size·long/short)`.
/// (Float to usize saturates, so an absurd ratio gives a size the callers refuse.)
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
