//! Execution contexts: what one run of a [`Model`] owns, apart from what every run shares.
//!
//! A model shares, read-only, its weights, pipelines, bind-group layouts and plan. A run owns
//! a [`Buffers`]: the activation slots, the scratch buffers, the bind groups over them (with
//! their uniforms) and the readback staging of the outputs. A model keeps a [`Pool`] of them,
//! made on first need and kept for reuse, at most `max_contexts`; a caller that finds all busy
//! waits (at most [`Gpu::timeout`]). [`Context`] is the lease on one: the step-wise methods
//! (write the input, submit, read a value) live here, so no caller can interleave a half run
//! with another caller's on the same buffers. A context whose run failed is destroyed, not
//! reused (its staging may still be mapped, its work may still be running).

use super::buffers::ActBuf;
use super::exec::Step;
use super::{Gpu, Model};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// The buffers and bind groups one run owns.
pub(super) struct Buffers {
    /// One buffer per plan slot.
    pub(super) slots: Vec<ActBuf>,
    pub(super) scratch: [ActBuf; 2],
    /// The forward pass, bound to `slots` and `scratch`.
    pub(super) steps: Vec<Step>,
    /// One `MAP_READ` buffer per graph output (its slot region).
    pub(super) staging: Vec<wgpu::Buffer>,
}

impl Buffers {
    /// Frees the device memory now (in-flight work keeps it until it finishes).
    pub(super) fn destroy(&self) {
        let acts = self.slots.iter().chain(&self.scratch);
        acts.for_each(|b| b.buffer.destroy());
        self.staging.iter().for_each(wgpu::Buffer::destroy);
    }
}

struct PoolState {
    idle: Vec<Buffers>,
    /// Contexts in existence (idle, leased, or being made).
    live: usize,
}

/// At most `max` contexts, made on first need and kept for reuse.
pub(super) struct Pool {
    state: Mutex<PoolState>,
    freed: Condvar,
    max: usize,
}

impl Pool {
    pub(super) fn new(max: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    /// Adds a context made outside [`Pool::take`] (the model's first).
    pub(super) fn adopt(&self, b: Buffers) {
        self.lock().live += 1;
        self.put(b);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // The state is two plain fields, consistent after any panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle context, a new one from `make` while fewer than `max` exist, or the first one
    /// given back within `gpu`'s timeout.
    fn take(&self, gpu: &Gpu, make: impl FnOnce() -> Result<Buffers>) -> Result<Buffers> {
        let start = Instant::now();
        let mut st = self.lock();
        loop {
            gpu.alive()?;
            if let Some(b) = st.idle.pop() {
                return Ok(b);
            }
            if st.live < self.max {
                st.live += 1;
                drop(st);
                return make().inspect_err(|_| self.forget());
            }
            let left = gpu.timeout().saturating_sub(start.elapsed());
            if left.is_zero() {
                let what = format!("a free execution context ({} busy)", self.max);
                return Err(gpu.timed_out(&what));
            }
            st = self
                .freed
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn put(&self, b: Buffers) {
        self.lock().idle.push(b);
        self.freed.notify_one();
    }

    fn forget(&self) {
        self.lock().live -= 1;
        self.freed.notify_one();
    }

    /// Every idle context (all of them once no lease is left).
    pub(super) fn drain(&self) -> Vec<Buffers> {
        std::mem::take(&mut self.lock().idle)
    }

    /// How many contexts exist now.
    pub(super) fn live(&self) -> usize {
        self.lock().live
    }
}

/// One execution context of a [`Model`], leased from its pool by [`Model::context`] and given
/// back when dropped. Holding it is holding its buffers alone: its step-wise methods cannot
/// interleave with other callers' runs.
pub struct Context<'m> {
    model: &'m Model,
    bufs: Option<Buffers>,
    failed: bool,
}

impl<'m> Context<'m> {
    pub(super) fn lease(model: &'m Model) -> Result<Self> {
        let bufs = model.pool.take(model.gpu(), || model.new_buffers())?;
        Ok(Context {
            model,
            bufs: Some(bufs),
            failed: false,
        })
    }

    pub(super) fn bufs(&self) -> &Buffers {
        self.bufs
            .as_ref()
            .expect("a leased context has its buffers")
    }

    /// `r`, remembering a failure (the context is then destroyed instead of reused).
    pub(super) fn check<T>(&mut self, r: Result<T>) -> Result<T> {
        self.failed |= r.is_err();
        r
    }

    /// Runs one forward pass on `input` and returns the graph's outputs: one submission that
    /// records the pass and the copies of the outputs, then one bounded wait.
    pub fn run(&mut self, input: &Tensor) -> Result<Vec<Tensor>> {
        self.write_input(input)?;
        let r = self.run_written();
        self.check(r)
    }

    fn run_written(&self) -> Result<Vec<Tensor>> {
        let (m, b, gpu) = (self.model, self.bufs(), self.model.gpu());
        let start = Instant::now();
        let index = gpu.scoped("forward pass", || {
            let mut enc = gpu.device.create_command_encoder(&Default::default());
            gpu.record(&mut enc, &b.steps);
            for (v, staging) in m.graph.outputs.iter().zip(&b.staging) {
                let slot = &b.slots[m.plan.locations[v.0].slot].buffer;
                enc.copy_buffer_to_buffer(slot, 0, staging, 0, staging.size());
            }
            gpu.queue.submit([enc.finish()])
        })?;
        let staging: Vec<&wgpu::Buffer> = b.staging.iter().collect();
        let data = gpu.read_mapped(&staging, index, "a forward pass", start)?;
        m.graph
            .outputs
            .iter()
            .zip(data)
            .map(|(v, mut d)| {
                let (loc, shape) = (m.plan.locations[v.0], m.shapes()[v.0]);
                if loc.is_whole(shape) {
                    d.truncate(shape.numel());
                    return Tensor::new(shape, d);
                }
                Ok(loc.extract(&d, shape))
            })
            .collect()
    }

    /// Writes `input` and submits the forward pass (no readback).
    pub fn forward(&mut self, input: &Tensor) -> Result<()> {
        self.write_input(input)?;
        self.submit()
    }

    /// Submits the forward pass again, on the input last written.
    pub fn submit(&mut self) -> Result<()> {
        let r = self.model.gpu().submit(&self.bufs().steps);
        self.check(r)
    }

    /// Writes `input` into this context's input buffer (executed before its next submission).
    pub fn write_input(&mut self, input: &Tensor) -> Result<()> {
        // A refused input leaves the context as it was: no failure to remember.
        self.model.check_input(input)?;
        let view = self.model.value_view(self.bufs(), 0);
        let r = self.model.gpu().write(&view, input);
        self.check(r)
    }

    /// Reads value `v` after a forward pass (with `reuse`, only outputs are guaranteed intact).
    pub fn read_value(&mut self, v: usize) -> Result<Tensor> {
        let r = self.read(v);
        self.check(r)
    }

    fn read(&self, v: usize) -> Result<Tensor> {
        let m = self.model;
        let (Some(loc), Some(&shape)) = (m.plan.locations.get(v), m.shapes().get(v)) else {
            return Err(Error::Invalid(format!(
                "value {v} does not exist ({} values)",
                m.shapes().len()
            )));
        };
        if loc.is_whole(shape) {
            return m.gpu().read(&m.value_view(self.bufs(), v));
        }
        let region = ActBuf {
            buffer: self.bufs().slots[loc.slot].buffer.clone(),
            shape: loc.region,
        };
        Ok(loc.extract(&m.gpu().read(&region)?.data, shape))
    }

    /// The compiled dispatches of this context, in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.bufs().steps
    }

    /// The model this context runs.
    pub fn model(&self) -> &'m Model {
        self.model
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        let Some(b) = self.bufs.take() else { return };
        if self.failed {
            b.destroy();
            self.model.pool.forget();
        } else {
            self.model.pool.put(b);
        }
    }
}
