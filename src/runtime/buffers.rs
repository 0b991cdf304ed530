//! GPU buffers: activations ([`ActBuf`], one buffer in NCHW order), parameters ([`ParamSet`],
//! each tensor split along its first dimension into buffers that fit one binding), upload,
//! NaN poisoning and readback.

use super::Gpu;
use crate::error::{Error, Result};
use crate::ops::Op;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::borrow::Cow;
use std::ops::Range;

/// An activation buffer holding a whole `[N, C, H, W]` tensor (`C` may be a concat's total).
/// Cloning shares the buffer (wgpu buffers are reference counted).
#[derive(Clone)]
pub struct ActBuf {
    pub buffer: wgpu::Buffer,
    pub shape: Shape,
}

/// One parameter tensor on the GPU: `(rows, buffer)` parts along its first dimension.
pub struct ParamBuffers {
    pub(super) parts: Vec<(Range<usize>, wgpu::Buffer)>,
    /// Elements per row (product of the other dimensions).
    pub(super) row_len: usize,
}

/// The GPU parameters of one layer, all split with the same rows per chunk.
pub struct ParamSet {
    pub rows_per_chunk: usize,
    pub(super) tensors: Vec<ParamBuffers>,
}

impl ParamSet {
    /// Frees the device memory now (in-flight work keeps it until it finishes).
    pub(super) fn destroy(&self) {
        let parts = self.tensors.iter().flat_map(|t| &t.parts);
        parts.for_each(|(_, b)| b.destroy());
    }

    /// Bytes held on the GPU.
    pub fn bytes(&self) -> u64 {
        let per = |p: &ParamBuffers| p.parts.iter().map(|(_, b)| b.size()).sum::<u64>();
        self.tensors.iter().map(per).sum()
    }
}

const ACT_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Rows per parameter chunk so that every chunk fits `limit` bytes, in multiples of `multiple`.
pub fn rows_per_chunk(
    layer: &str,
    params: &[Cow<Tensor>],
    multiple: usize,
    limit: u64,
) -> Result<usize> {
    let too_big = |t: &&Cow<Tensor>| (t.data.len() * 4) as u64 > limit;
    let Some(big) = params.iter().filter(too_big).max_by_key(|t| t.data.len()) else {
        return Ok(usize::MAX);
    };
    let row_bytes = (big.shape.per_sample() * 4) as u64;
    let rows = (limit / row_bytes) as usize / multiple * multiple;
    if rows == 0 {
        return Err(Error::Limit {
            limit: "max_storage_buffer_binding_size",
            value: limit,
            needed: row_bytes * multiple as u64,
            what: format!("the smallest weight chunk of layer '{layer}'"),
        });
    }
    Ok(rows)
}

impl Gpu {
    /// Refuses a buffer of `bytes` over the device's `max_buffer_size`, saying `what` it is.
    pub(super) fn check_size(&self, bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
        if bytes > self.limits().max_buffer_size {
            return Err(Error::Limit {
                limit: "max_buffer_size",
                value: self.limits().max_buffer_size,
                needed: bytes,
                what: what(),
            });
        }
        Ok(())
    }

    /// Uploads a host tensor into a new activation buffer.
    pub fn upload(&self, t: &Tensor) -> Result<ActBuf> {
        self.check_size((t.data.len() * 4) as u64, || {
            format!("a tensor of shape {}", t.shape)
        })?;
        let buffer = self.buffer_init(
            &format!("uploading a tensor of shape {}", t.shape),
            "activation",
            bytemuck::cast_slice(nonempty(&t.data)),
            ACT_USAGE,
        )?;
        Ok(ActBuf {
            buffer,
            shape: t.shape,
        })
    }

    /// A new activation buffer for `shape`, filled with NaN when `poison` (so that a kernel that
    /// leaves an element unwritten is caught).
    pub fn alloc(&self, shape: Shape, poison: bool) -> Result<ActBuf> {
        if poison {
            return self.upload(&Tensor {
                shape,
                data: vec![f32::NAN; shape.numel()],
            });
        }
        let size = (shape.numel().max(1) * 4) as u64;
        self.check_size(size, || format!("an activation of shape {shape}"))?;
        let buffer = self
            .scoped("alloc", || {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("activation"),
                    size,
                    usage: ACT_USAGE,
                    mapped_at_creation: false,
                })
            })
            .map_err(|e| alloc_error(e, &format!("an activation of shape {shape}"), size))?;
        Ok(ActBuf { buffer, shape })
    }

    /// Writes `t` at the start of `buf` (executed before the next submission).
    pub fn write(&self, buf: &ActBuf, t: &Tensor) -> Result<()> {
        if t.data.len() > buf.shape.numel() {
            return Err(Error::Invalid(format!(
                "{} does not fit a buffer of {}",
                t.shape, buf.shape
            )));
        }
        self.scoped("write", || {
            self.queue
                .write_buffer(&buf.buffer, 0, bytemuck::cast_slice(&t.data))
        })
    }

    /// The two scratch buffers for ops that want `elems` f32 of working space each, capped at
    /// one binding (ops work in pieces that fit what they get).
    pub fn scratch(&self, elems: [usize; 2]) -> Result<[ActBuf; 2]> {
        let cap = (self.max_binding() / 4) as usize;
        let one = |e: usize| self.alloc(Shape::vector(e.clamp(4, cap.max(4))), false);
        Ok([one(elems[0])?, one(elems[1])?])
    }

    /// A `MAP_READ` buffer of `bytes` to copy results into.
    pub(super) fn staging(&self, bytes: u64) -> Result<wgpu::Buffer> {
        self.scoped("readback staging", || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// Reads an activation buffer back to the host (waits for the GPU).
    pub fn read(&self, buf: &ActBuf) -> Result<Tensor> {
        let size = (buf.shape.numel() * 4) as u64;
        if size == 0 {
            return Ok(Tensor::zeros(buf.shape));
        }
        let start = std::time::Instant::now();
        let (staging, index) = self.scoped("readback", || {
            let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&buf.buffer, 0, &staging, 0, size);
            let index = self.queue.submit([enc.finish()]);
            (staging, index)
        })?;
        let data = self.read_mapped(&[&staging], index, "readback", start);
        staging.destroy();
        Tensor::new(buf.shape, data?.remove(0))
    }

    /// Maps `staging` (MAP_READ buffers written by submission `index`) and copies them out,
    /// waiting at most [`Gpu::timeout`] from `start`; each is unmapped again.
    pub(super) fn read_mapped(
        &self,
        staging: &[&wgpu::Buffer],
        index: wgpu::SubmissionIndex,
        what: &str,
        start: std::time::Instant,
    ) -> Result<Vec<Vec<f32>>> {
        let (tx, rx) = std::sync::mpsc::channel();
        for (i, b) in staging.iter().enumerate() {
            let tx = tx.clone();
            b.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send((i, r));
            });
        }
        let gpu_err = |m: String| Error::Gpu {
            context: what.into(),
            message: m,
        };
        self.wait_for(Some(index), what, start)?;
        // Another thread's poll may be the one that runs a callback: wait for the rest.
        for _ in staging {
            let left = self.timeout().saturating_sub(start.elapsed());
            let (_, r) = rx.recv_timeout(left).map_err(|_| self.timed_out(what))?;
            self.alive()?;
            r.map_err(|e| gpu_err(e.to_string()))?;
        }
        staging
            .iter()
            .map(|b| {
                let data = {
                    let view = b.get_mapped_range(..).map_err(|e| gpu_err(e.to_string()))?;
                    bytemuck::cast_slice::<u8, f32>(&view).to_vec()
                };
                b.unmap();
                Ok(data)
            })
            .collect()
    }

    /// Uploads a layer's parameters in the op's GPU layout, split to fit one binding each.
    pub fn upload_params(&self, op: &Op, layer: &str, params: &[Tensor]) -> Result<ParamSet> {
        let gpu_params = op.gpu_params(params);
        let rows = rows_per_chunk(layer, &gpu_params, op.row_multiple(), self.max_binding())?;
        let tensors = gpu_params
            .iter()
            .map(|t| self.upload_split(layer, t, rows))
            .collect::<Result<_>>()?;
        Ok(ParamSet {
            rows_per_chunk: rows,
            tensors,
        })
    }

    fn upload_split(&self, layer: &str, t: &Tensor, rows: usize) -> Result<ParamBuffers> {
        let row_len = t.shape.per_sample();
        let total = t.shape.n;
        let parts = (0..total.max(1))
            .step_by(rows.min(total.max(1)))
            .map(|r0| {
                let r1 = (r0 + rows).min(total);
                let data = &t.data[r0 * row_len..r1 * row_len];
                let buffer = self.buffer_init(
                    &format!("the weights of layer '{layer}'"),
                    "weight",
                    bytemuck::cast_slice(nonempty(data)),
                    wgpu::BufferUsages::STORAGE,
                )?;
                Ok((r0..r1, buffer))
            })
            .collect::<Result<_>>()?;
        Ok(ParamBuffers { parts, row_len })
    }
}

impl Gpu {
    /// A new buffer holding `contents`: wgpu's `create_buffer_init` without its panic. That
    /// maps the buffer it just created, and panics when the allocation failed (out of memory);
    /// here the creation's error scope is checked first, and a failure is an error naming
    /// `what` and its bytes. Mapped at creation, so `usage` needs no COPY_DST.
    pub(super) fn buffer_init(
        &self,
        what: &str,
        label: &'static str,
        contents: &[u8],
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let align = wgpu::COPY_BUFFER_ALIGNMENT;
        let size = (contents.len() as u64).div_ceil(align).max(1) * align;
        let buffer = self
            .scoped(label, || {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size,
                    usage,
                    mapped_at_creation: true,
                })
            })
            .map_err(|e| alloc_error(e, what, size))?;
        {
            let mut view = buffer.get_mapped_range_mut(..).map_err(|e| {
                let e = Error::Gpu {
                    context: label.into(),
                    message: e.to_string(),
                };
                alloc_error(e, what, size)
            })?;
            view.slice(..contents.len()).copy_from_slice(contents);
        }
        buffer.unmap();
        Ok(buffer)
    }
}

/// A failed GPU allocation as an error naming what it was for and its bytes, and what to try.
fn alloc_error(e: Error, what: &str, bytes: u64) -> Error {
    match e {
        Error::Gpu { message, .. } => Error::Gpu {
            context: format!("allocating {bytes} bytes for {what}"),
            message: format!("{message} (a smaller batch may fit)"),
        },
        e => e,
    }
}

/// wgpu refuses zero-sized bindings: an empty tensor is stored as one (unread) zero.
fn nonempty(data: &[f32]) -> &[f32] {
    if data.is_empty() {
        &[0.0]
    } else {
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::GpuOptions;

    /// A buffer that fails to be created (here: a usage wgpu refuses, as an allocation that
    /// runs out of memory fails) is an error naming what it was for, not a panic in mapping.
    #[test]
    fn a_buffer_that_fails_to_allocate_is_an_error() {
        let gpu = match Gpu::new(&GpuOptions::from_env().expect("DEEPER_* variables")) {
            Ok(g) => g,
            Err(e) if std::env::var("DEEPER_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("DEEPER_REQUIRE_GPU=1 but no GPU: {e}")
            }
            Err(_) => return,
        };
        let bad = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE;
        let e = gpu
            .buffer_init("the weights of layer 'fc'", "weight", &[1, 2, 3], bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer 'fc'") && e.contains("4 bytes"), "{e}");
        let ok = gpu
            .buffer_init("x", "weight", &[1, 2, 3], wgpu::BufferUsages::STORAGE)
            .unwrap();
        assert_eq!(ok.size(), 4);
    }
}
