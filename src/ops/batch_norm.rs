//! Batch normalisation in inference form (`torch.nn.BatchNorm2d`, eval mode):
//! `y = (x − running_mean) / √(running_var + eps) · weight + bias`, with an optional fused
//! activation. On the GPU the four vectors are folded once at load into `scale` and `shift`
//! (`y = x·scale + shift`), and [`fold_into_conv`] removes the layer entirely after a conv.
//!
//! Shapes: `[N, C, H, W]` → `[N, C, H, W]`; parameters `[C]` each.
//! Definition: <https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html>

use super::conv2d::Conv2d;
use super::launch::{groups_for, Activation, Arg, Dispatch, LaunchCtx};
use crate::error::{Error, Result};
use crate::shader;
use crate::shape::Shape;
use crate::tensor::Tensor;

shader!(SHADER, "batch_norm", 4, "act");

/// Parameters of an inference-mode batch norm.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm2d {
    pub channels: usize,
    pub eps: f32,
    pub activation: Activation,
}

/// Uniform of `batch_norm.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BatchNormUniform {
    pub n: u32,
    pub c: u32,
    pub plane: u32,
    pub out_c_total: u32,
    pub out_c_offset: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl BatchNorm2d {
    /// A batch norm over `channels` with PyTorch's default `eps = 1e-5`.
    pub fn new(channels: usize) -> Self {
        BatchNorm2d {
            channels,
            eps: 1e-5,
            activation: Activation::None,
        }
    }

    /// `weight`, `bias`, `running_mean`, `running_var`, each `[C]`.
    pub fn param_shapes(&self) -> Vec<(&'static str, Shape)> {
        let v = Shape::vector(self.channels);
        vec![
            ("weight", v),
            ("bias", v),
            ("running_mean", v),
            ("running_var", v),
        ]
    }

    pub(super) fn output_shape(&self, layer: &str, x: Shape) -> Result<Shape> {
        if x.c != self.channels {
            return Err(Error::shape(
                layer,
                format!("expects {} channels, got {x}", self.channels),
            ));
        }
        Ok(x)
    }

    /// Per-channel `(scale, shift)` in f64.
    fn scale_shift(&self, params: &[Tensor]) -> Vec<(f64, f64)> {
        (0..self.channels)
            .map(|c| {
                let (g, b) = (params[0].data[c] as f64, params[1].data[c] as f64);
                let (m, v) = (params[2].data[c] as f64, params[3].data[c] as f64);
                let scale = g / (v + self.eps as f64).sqrt();
                (scale, b - m * scale)
            })
            .collect()
    }

    /// CPU reference, straight from the definition.
    pub fn cpu(&self, x: &Tensor, params: &[Tensor]) -> Tensor {
        let mut out = x.clone();
        for (i, v) in out.data.iter_mut().enumerate() {
            let (_, c, _, _) = x.shape.unravel(i);
            let (g, b) = (params[0].data[c] as f64, params[1].data[c] as f64);
            let (m, var) = (params[2].data[c] as f64, params[3].data[c] as f64);
            let y = (*v as f64 - m) / (var + self.eps as f64).sqrt() * g + b;
            *v = self.activation.apply(y) as f32;
        }
        out
    }

    /// GPU layout: `[scale, shift]`.
    pub fn gpu_params(&self, params: &[Tensor]) -> Vec<Tensor> {
        let ss = self.scale_shift(params);
        let v = Shape::vector(self.channels);
        vec![
            Tensor {
                shape: v,
                data: ss.iter().map(|s| s.0 as f32).collect(),
            },
            Tensor {
                shape: v,
                data: ss.iter().map(|s| s.1 as f32).collect(),
            },
        ]
    }

    pub(super) fn dispatches(&self, ctx: &LaunchCtx) -> Vec<Dispatch> {
        let x = ctx.inputs[0];
        let uniform = BatchNormUniform {
            n: x.n as u32,
            c: x.c as u32,
            plane: (x.h * x.w) as u32,
            out_c_total: ctx.out_c_total as u32,
            out_c_offset: ctx.out_c_offset as u32,
            ..Default::default()
        };
        let all = 0..self.channels;
        vec![Dispatch {
            shader: &SHADER,
            overrides: vec![self.activation.constant()],
            args: vec![
                Arg::Input(0),
                Arg::Param {
                    index: 0,
                    rows: all.clone(),
                },
                Arg::Param {
                    index: 1,
                    rows: all,
                },
                Arg::Output,
            ],
            uniform: bytemuck::bytes_of(&uniform).to_vec(),
            workgroups: groups_for(x.numel(), 64),
        }]
    }
}

/// Folds a batch norm into the convolution before it: `W' = W·scale[oc]`,
/// `b' = (b − mean)·scale + beta`. The result has a bias and takes the batch norm's activation.
/// `conv_params` are `[weight]` or `[weight, bias]`; `bn_params` as in [`BatchNorm2d::param_shapes`].
pub fn fold_into_conv(
    conv: &Conv2d,
    conv_params: &[Tensor],
    bn: &BatchNorm2d,
    bn_params: &[Tensor],
) -> (Conv2d, Vec<Tensor>) {
    let ss = bn.scale_shift(bn_params);
    let mut w = conv_params[0].clone();
    let per_oc = w.shape.per_sample();
    for (oc, chunk) in w.data.chunks_mut(per_oc).enumerate() {
        chunk
            .iter_mut()
            .for_each(|v| *v = (*v as f64 * ss[oc].0) as f32);
    }
    let b: Vec<f32> = (0..conv.out_channels)
        .map(|oc| {
            let b0 = conv_params.get(1).map_or(0.0, |b| b.data[oc] as f64);
            (b0 * ss[oc].0 + ss[oc].1) as f32
        })
        .collect();
    let folded = Conv2d {
        bias: true,
        activation: bn.activation,
        folded_bn: true,
        ..conv.clone()
    };
    let bias = Tensor {
        shape: Shape::vector(conv.out_channels),
        data: b,
    };
    (folded, vec![w, bias])
}
