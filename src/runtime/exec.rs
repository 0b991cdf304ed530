//! From an op's dispatches to GPU work. [`compile_node`] builds the bind groups of one layer
//! once (splitting the batch when an activation exceeds a binding, and binding each weight
//! chunk); [`Gpu::submit`] records any number of compiled steps into one compute pass and one
//! submission; [`run_op`] is the one-layer path used by tests and kernel benchmarks.

use super::buffers::{ActBuf, ParamSet};
use super::grid::fold;
use super::pipelines::Pipeline;
use super::Gpu;
use crate::error::{Error, Result};
use crate::ops::{Arg, LaunchCtx, Op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// One compiled dispatch: pipeline, bind group and grid, ready to record.
pub struct Step {
    pub label: String,
    /// The shader variant: its name, then any override constants (`conv2d_tiled[BM=64]`).
    pub kernel: String,
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) bind_group: wgpu::BindGroup,
    pub(super) grid: [u32; 3],
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Samples per batch chunk so that every activation binding fits and chunk offsets stay aligned.
fn batch_chunk(gpu: &Gpu, layer: &str, per_sample: &[u64], n: usize) -> Result<usize> {
    let limit = gpu.max_binding();
    if per_sample.iter().all(|ps| ps * n as u64 <= limit) {
        return Ok(n.max(1));
    }
    let align = gpu.limits().min_storage_buffer_offset_alignment as u64;
    let worst = per_sample.iter().copied().max().unwrap_or(1);
    let step = per_sample
        .iter()
        .map(|ps| align / gcd(*ps, align))
        .fold(1, |acc, s| acc / gcd(acc, s) * s);
    let nb = (limit / worst) / step * step;
    if nb == 0 {
        return Err(Error::Limit {
            limit: "max_storage_buffer_binding_size",
            value: limit,
            needed: worst * step,
            what: format!("an aligned batch chunk of layer '{layer}'"),
        });
    }
    Ok(nb as usize)
}

/// Compiles one layer: `inputs` and `out` are whole buffers, the op (resolved, see
/// [`Op::resolved`]) writes `out_shape.c` channels from `out_c_offset` into `out` (whose
/// `shape.c` is the total); `scratch` is shared working memory (see [`Gpu::scratch`]).
#[allow(clippy::too_many_arguments)]
pub fn compile_node(
    gpu: &Gpu,
    op: &Op,
    layer: &str,
    inputs: &[&ActBuf],
    params: &ParamSet,
    out: &ActBuf,
    out_shape: Shape,
    out_c_offset: usize,
    scratch: &[ActBuf; 2],
) -> Result<Vec<Step>> {
    let n = out_shape.n;
    let per_sample: Vec<u64> = inputs
        .iter()
        .map(|b| b.shape.per_sample() as u64 * 4)
        .chain([out.shape.per_sample() as u64 * 4])
        .collect();
    let nb = batch_chunk(gpu, layer, &per_sample, n)?;
    let bound = Bound {
        inputs,
        params,
        out,
        scratch,
    };
    let mut steps = Vec::new();
    for n0 in (0..n).step_by(nb) {
        let n1 = (n0 + nb).min(n);
        let shapes: Vec<Shape> = inputs.iter().map(|b| b.shape.with_n(n1 - n0)).collect();
        let ctx = LaunchCtx {
            inputs: &shapes,
            output: out_shape.with_n(n1 - n0),
            out_c_total: out.shape.c,
            out_c_offset,
            rows_per_chunk: params.rows_per_chunk,
            scratch_elems: scratch.each_ref().map(|b| b.shape.numel()),
        };
        for d in op.dispatches(&ctx) {
            if d.workgroups == 0 {
                continue;
            }
            let grid = fold(
                d.workgroups,
                gpu.limits().max_compute_workgroups_per_dimension,
            )?;
            let pipeline = gpu.pipelines.get(&gpu.device, d.shader, &d.overrides);
            let uniform = gpu.buffer_init(
                &format!("the uniform of layer '{layer}'"),
                "uniform",
                &d.uniform,
                wgpu::BufferUsages::UNIFORM,
            )?;
            let mut entries = Vec::with_capacity(d.args.len() + 1);
            for (i, arg) in d.args.iter().enumerate() {
                let binding = bind(gpu, arg, &bound, n0..n1, layer)?;
                entries.push(wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: binding,
                });
            }
            entries.push(wgpu::BindGroupEntry {
                binding: d.args.len() as u32,
                resource: uniform.as_entire_binding(),
            });
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(layer),
                layout: &pipeline.layout,
                entries: &entries,
            });
            steps.push(Step {
                label: layer.to_string(),
                kernel: kernel_name(&d),
                pipeline,
                bind_group,
                grid,
            });
        }
    }
    Ok(steps)
}

/// `name` or `name[K=V,…]` for a dispatch's shader variant.
fn kernel_name(d: &crate::ops::Dispatch) -> String {
    if d.overrides.is_empty() {
        return d.shader.name.to_string();
    }
    let kv: Vec<String> = d
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}[{}]", d.shader.name, kv.join(","))
}

/// The buffers one layer binds.
struct Bound<'a> {
    inputs: &'a [&'a ActBuf],
    params: &'a ParamSet,
    out: &'a ActBuf,
    scratch: &'a [ActBuf; 2],
}

fn bind<'a>(
    gpu: &'a Gpu,
    arg: &Arg,
    b: &Bound<'a>,
    samples: std::ops::Range<usize>,
    layer: &str,
) -> Result<wgpu::BindingResource<'a>> {
    let Bound {
        inputs,
        params,
        out,
        scratch,
    } = *b;
    let slice = |b: &'a ActBuf| {
        let ps = b.shape.per_sample() as u64 * 4;
        let size = std::num::NonZeroU64::new(ps * samples.len() as u64);
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &b.buffer,
            offset: ps * samples.start as u64,
            size,
        })
    };
    Ok(match arg {
        Arg::Input(i) => slice(inputs[*i]),
        Arg::Output => slice(out),
        Arg::Dummy => gpu.dummy.as_entire_binding(),
        Arg::Scratch(i) => scratch[*i].buffer.as_entire_binding(),
        Arg::Param { index, rows } => {
            let t = &params.tensors[*index];
            let (range, buffer) = t
                .parts
                .iter()
                .find(|(r, _)| r.start <= rows.start && rows.end <= r.end)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "layer '{layer}': weight rows {rows:?} span two chunks"
                    ))
                })?;
            let row_bytes = t.row_len as u64 * 4;
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer,
                offset: (rows.start - range.start) as u64 * row_bytes,
                size: std::num::NonZeroU64::new(rows.len().max(1) as u64 * row_bytes),
            })
        }
    })
}

/// What a compiled dispatch is, without its buffers: the same for every execution context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepInfo {
    pub label: String,
    /// The shader variant, as [`Step::kernel`].
    pub kernel: String,
}

impl StepInfo {
    /// The description of `step`.
    pub fn of(step: &Step) -> Self {
        StepInfo {
            label: step.label.clone(),
            kernel: step.kernel.clone(),
        }
    }
}

impl Gpu {
    /// Records `steps` in order into one compute pass and submits them once.
    pub fn submit(&self, steps: &[Step]) -> Result<()> {
        self.scoped("submit", || {
            let mut enc = self.device.create_command_encoder(&Default::default());
            self.record(&mut enc, steps);
            self.queue.submit([enc.finish()]);
        })
    }

    /// Submits nothing: runs the queue's pending writes (uploads, destroyed buffers waiting
    /// on them) so that their memory can be freed.
    pub(super) fn flush(&self) -> wgpu::SubmissionIndex {
        self.queue.submit([])
    }

    /// Records `steps` in order into one compute pass of `enc`.
    pub(super) fn record(&self, enc: &mut wgpu::CommandEncoder, steps: &[Step]) {
        let mut pass = enc.begin_compute_pass(&Default::default());
        for s in steps {
            pass.set_pipeline(&s.pipeline.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            pass.dispatch_workgroups(s.grid[0], s.grid[1], s.grid[2]);
        }
    }
}

/// Runs one layer on the GPU: uploads `inputs` and `params`, poisons the output with NaN,
/// dispatches, reads back. `params` as listed by [`Op::param_shapes`].
pub fn run_op(
    gpu: &Gpu,
    op: &Op,
    layer: &str,
    inputs: &[&Tensor],
    params: &[Tensor],
) -> Result<Tensor> {
    for (i, t) in inputs.iter().enumerate() {
        t.check(&format!("layer '{layer}' input {i}"))?;
    }
    let shapes: Vec<Shape> = inputs.iter().map(|t| t.shape).collect();
    let out_shape = op.output_shape(layer, &shapes)?;
    check_params(op, layer, params)?;
    let op = &op.resolved(&gpu.caps(), out_shape);
    if op.is_view() {
        return inputs[0].clone().reshaped(out_shape);
    }
    let bufs = inputs
        .iter()
        .map(|t| gpu.upload(t))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&ActBuf> = bufs.iter().collect();
    let params = gpu.upload_params(op, layer, params)?;
    let out = gpu.alloc(out_shape, true)?;
    let scratch = gpu.scratch(op.scratch_elems(out_shape))?;
    let steps = gpu.scoped(layer, || {
        compile_node(gpu, op, layer, &refs, &params, &out, out_shape, 0, &scratch)
    })??;
    gpu.submit(&steps)?;
    gpu.read(&out)
}

/// Checks that `params` match the op's parameter shapes.
pub fn check_params(op: &Op, layer: &str, params: &[Tensor]) -> Result<()> {
    let want = op.param_shapes();
    if want.len() != params.len() {
        return Err(Error::params(
            layer,
            format!(
                "expects {} parameter tensors, got {}",
                want.len(),
                params.len()
            ),
        ));
    }
    for ((name, shape), t) in want.iter().zip(params) {
        t.check(&format!("weight '{layer}.{name}'"))?;
        if *shape != t.shape {
            return Err(Error::WeightShape {
                key: format!("{layer}.{name}"),
                found: t.shape.dims().to_vec(),
                expected: shape.dims().to_vec(),
            });
        }
    }
    Ok(())
}
