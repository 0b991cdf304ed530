//! The profiler: GPU time per layer, from timestamp queries.
//!
//! [`Gpu::profile`] records a compiled step list with every layer (the consecutive steps of one
//! graph node) in its own compute pass carrying `timestamp_writes`, submits it once, then
//! resolves the query sets and copies them to `MAP_READ` buffers in a *separate* submission.
//! A WebGPU query set holds at most 4,096 queries, so the passes are spread over as many sets
//! as needed (2,048 layers each). A timestamp pair that reads 0 or runs backwards (seen on some
//! drivers) is detected and the whole profile falls back to wall clock: each layer submitted
//! and waited for on its own, which includes submission overhead. The result says which timing
//! it used. [`Model::time_end_to_end`] is the plain wall-clock timer of a forward pass
//! (input upload, run, readback).

use super::buffers::ActBuf;
use super::exec::Step;
use super::grid::fold;
use super::{Context, Gpu, Model};
use crate::error::{Error, Result};
use crate::ops::Shader;
use crate::tensor::Tensor;
use std::ops::Range;
use std::time::Instant;

/// Layers per query set (two queries each).
const LAYERS_PER_SET: usize = (wgpu::QUERY_SET_MAX_QUERIES / 2) as usize;

/// How layer times were measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// GPU timestamps around each layer's compute pass.
    Timestamps,
    /// Host wall clock around a submit-and-wait of each layer.
    WallClock,
}

impl Timing {
    /// `"timestamps"` or `"wall-clock"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Timestamps => "timestamps",
            Timing::WallClock => "wall-clock",
        }
    }

    /// Timestamps unless `DEEPER_TIMING=wall-clock` forces the fallback (any other value is
    /// taken as unset; [`Timing::try_from_env`] refuses it).
    pub fn from_env() -> Timing {
        Timing::try_from_env().unwrap_or(Timing::Timestamps)
    }

    /// `DEEPER_TIMING`: unset, empty or `timestamps` → timestamps, `wall-clock` → wall clock;
    /// anything else is an error naming the variable (as `DEEPER_BACKEND` is).
    pub fn try_from_env() -> Result<Timing> {
        match std::env::var("DEEPER_TIMING") {
            Err(std::env::VarError::NotPresent) => Ok(Timing::Timestamps),
            Ok(v) if v.is_empty() || v == "timestamps" => Ok(Timing::Timestamps),
            Ok(v) if v == "wall-clock" => Ok(Timing::WallClock),
            Ok(v) => Err(Error::Invalid(format!(
                "unknown timing '{v}' (DEEPER_TIMING: timestamps, wall-clock)"
            ))),
            Err(e) => Err(Error::Invalid(format!("DEEPER_TIMING: {e}"))),
        }
    }
}

/// One layer's time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerTime {
    /// The graph node (index into `Graph::nodes`).
    pub node: usize,
    pub ns: f64,
}

/// The per-layer times of one profiled run.
#[derive(Clone, Debug)]
pub struct Profile {
    pub timing: Timing,
    /// In execution order; only nodes that dispatch work.
    pub layers: Vec<LayerTime>,
    /// Wall clock from the submission to the end of the work (encloses every layer time).
    pub wall_ns: f64,
    /// Why wall clock was used, when it was not requested.
    pub note: Option<String>,
}

impl Profile {
    /// Sum of the layer times.
    pub fn total_ns(&self) -> f64 {
        self.layers.iter().map(|l| l.ns).sum()
    }
}

/// Consecutive steps of one node: `(node, step range)`.
fn groups(step_nodes: &[usize]) -> Vec<(usize, Range<usize>)> {
    let mut out: Vec<(usize, Range<usize>)> = Vec::new();
    for (i, &node) in step_nodes.iter().enumerate() {
        match out.last_mut() {
            Some((n, r)) if *n == node => r.end = i + 1,
            _ => out.push((node, i..i + 1)),
        }
    }
    out
}

/// Nanoseconds of each `(start, end)` tick pair, or the index of the first pair that reads 0
/// or runs backwards.
fn durations(ticks: &[u64], period: f64) -> std::result::Result<Vec<f64>, usize> {
    ticks
        .chunks(2)
        .enumerate()
        .map(|(g, p)| match p {
            [start, end] if end > start => Ok((end - start) as f64 * period),
            _ => Err(g),
        })
        .collect()
}

fn gpu_err(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu {
        context: context.into(),
        message: e.to_string(),
    }
}

impl Gpu {
    /// Times `steps` layer by layer (`step_nodes[i]` = node of step `i`) with `want`, falling
    /// back to wall clock when the device has no timestamps or they read 0 or run backwards.
    pub fn profile(&self, steps: &[Step], step_nodes: &[usize], want: Timing) -> Result<Profile> {
        let groups = groups(step_nodes);
        let note = match want {
            Timing::WallClock => None,
            Timing::Timestamps if !self.has_timestamps() => {
                Some("the device has no timestamp queries".to_string())
            }
            Timing::Timestamps => match self.timestamp_profile(steps, &groups)? {
                Ok(p) => return Ok(p),
                Err(reason) => Some(reason),
            },
        };
        let mut p = self.wall_profile(steps, &groups)?;
        p.note = note;
        Ok(p)
    }

    /// Waits until the device is idle (at most [`Gpu::timeout`]).
    pub fn wait(&self) -> Result<()> {
        self.wait_for(None, "the device to finish", Instant::now())
    }

    /// Each layer submitted and waited for on its own.
    fn wall_profile(&self, steps: &[Step], groups: &[(usize, Range<usize>)]) -> Result<Profile> {
        self.wait()?;
        let t0 = Instant::now();
        let mut layers = Vec::with_capacity(groups.len());
        for (node, r) in groups {
            let t = Instant::now();
            self.submit(&steps[r.clone()])?;
            self.wait()?;
            let ns = t.elapsed().as_nanos() as f64;
            layers.push(LayerTime { node: *node, ns });
        }
        Ok(Profile {
            timing: Timing::WallClock,
            layers,
            wall_ns: t0.elapsed().as_nanos() as f64,
            note: None,
        })
    }

    /// `Ok(Err(reason))` when a timestamp pair is unusable.
    fn timestamp_profile(
        &self,
        steps: &[Step],
        groups: &[(usize, Range<usize>)],
    ) -> Result<std::result::Result<Profile, String>> {
        self.wait()?;
        let t0 = Instant::now();
        let sets = self.scoped("profile", || {
            let sets: Vec<wgpu::QuerySet> = groups
                .chunks(LAYERS_PER_SET)
                .map(|c| {
                    self.device.create_query_set(&wgpu::QuerySetDescriptor {
                        label: Some("layer timestamps"),
                        ty: wgpu::QueryType::Timestamp,
                        count: 2 * c.len() as u32,
                    })
                })
                .collect();
            self.record_timed(steps, groups, &sets);
            sets
        })?;
        self.wait()?;
        let wall_ns = t0.elapsed().as_nanos() as f64;
        let ticks = self.resolve(&sets)?;
        let period = self.queue.get_timestamp_period() as f64;
        let ns = match durations(&ticks, period) {
            Ok(ns) => ns,
            Err(g) => {
                let name = &steps[groups[g].1.start].label;
                let (a, b) = (ticks[2 * g], ticks[2 * g + 1]);
                return Ok(Err(format!(
                    "the timestamp pair of layer '{name}' read {a} → {b}"
                )));
            }
        };
        let layers = groups
            .iter()
            .zip(ns)
            .map(|((node, _), ns)| LayerTime { node: *node, ns })
            .collect();
        Ok(Ok(Profile {
            timing: Timing::Timestamps,
            layers,
            wall_ns,
            note: None,
        }))
    }

    /// One compute pass per group, timestamps at its start and end; one submission.
    fn record_timed(
        &self,
        steps: &[Step],
        groups: &[(usize, Range<usize>)],
        sets: &[wgpu::QuerySet],
    ) {
        let mut enc = self.device.create_command_encoder(&Default::default());
        for (g, (_, r)) in groups.iter().enumerate() {
            let q = 2 * (g % LAYERS_PER_SET) as u32;
            let desc = wgpu::ComputePassDescriptor {
                label: Some(&steps[r.start].label),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &sets[g / LAYERS_PER_SET],
                    beginning_of_pass_write_index: Some(q),
                    end_of_pass_write_index: Some(q + 1),
                }),
            };
            let mut pass = enc.begin_compute_pass(&desc);
            for s in &steps[r.clone()] {
                pass.set_pipeline(&s.pipeline.pipeline);
                pass.set_bind_group(0, &s.bind_group, &[]);
                pass.dispatch_workgroups(s.grid[0], s.grid[1], s.grid[2]);
            }
        }
        self.queue.submit([enc.finish()]);
    }

    /// Resolves every query set and reads the raw ticks back (a separate submission).
    fn resolve(&self, sets: &[wgpu::QuerySet]) -> Result<Vec<u64>> {
        let staging = self.scoped("resolve timestamps", || {
            let mut enc = self.device.create_command_encoder(&Default::default());
            let staging: Vec<wgpu::Buffer> = sets
                .iter()
                .map(|set| {
                    let count = set.count();
                    let size = count as u64 * wgpu::QUERY_SIZE as u64;
                    let buffer = |usage| {
                        self.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("timestamps"),
                            size,
                            usage,
                            mapped_at_creation: false,
                        })
                    };
                    use wgpu::BufferUsages as U;
                    let resolved = buffer(U::QUERY_RESOLVE | U::COPY_SRC);
                    let read = buffer(U::MAP_READ | U::COPY_DST);
                    enc.resolve_query_set(set, 0..count, &resolved, 0);
                    enc.copy_buffer_to_buffer(&resolved, 0, &read, 0, size);
                    read
                })
                .collect();
            self.queue.submit([enc.finish()]);
            staging
        })?;
        let mut ticks = Vec::new();
        for b in &staging {
            ticks.extend(bytemuck::cast_slice::<u8, u64>(&self.map_read(b)?));
        }
        Ok(ticks)
    }

    /// Maps a `MAP_READ` buffer and copies its bytes out.
    fn map_read(&self, b: &wgpu::Buffer) -> Result<Vec<u8>> {
        let (tx, rx) = std::sync::mpsc::channel();
        b.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        let ctx = "timestamp readback";
        rx.recv_timeout(self.timeout())
            .map_err(|_| self.timed_out(ctx))?
            .map_err(|e| gpu_err(ctx, e))?;
        let bytes = b
            .get_mapped_range(..)
            .map_err(|e| gpu_err(ctx, e))?
            .to_vec();
        b.unmap();
        Ok(bytes)
    }

    /// A step outside any graph: `shader` over whole `buffers` (inputs then the output) with
    /// `uniform`, `workgroups` in total (folded to 2-D). For micro-benchmarks such as the
    /// device peak, timed with [`Gpu::profile`].
    pub fn raw_step(
        &self,
        shader: &'static Shader,
        buffers: &[&ActBuf],
        uniform: &[u8],
        workgroups: u32,
    ) -> Result<Step> {
        let grid = fold(
            workgroups,
            self.limits().max_compute_workgroups_per_dimension,
        )?;
        let uniform =
            self.buffer_init(shader.name, "uniform", uniform, wgpu::BufferUsages::UNIFORM)?;
        self.scoped(shader.name, || {
            let pipeline = self.pipelines.get(&self.device, shader, &[]);
            let mut entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.buffer.as_entire_binding(),
                })
                .collect();
            entries.push(wgpu::BindGroupEntry {
                binding: buffers.len() as u32,
                resource: uniform.as_entire_binding(),
            });
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(shader.name),
                layout: &pipeline.layout,
                entries: &entries,
            });
            Step {
                label: shader.name.to_string(),
                kernel: shader.name.to_string(),
                pipeline,
                bind_group,
                grid,
            }
        })
    }
}

impl Context<'_> {
    /// Writes `input` and profiles one forward pass layer by layer (outputs are not read).
    pub fn profile(&mut self, input: &Tensor, want: Timing) -> Result<Profile> {
        self.write_input(input)?;
        let (gpu, nodes) = (self.model().gpu(), &self.model().step_nodes);
        let r = gpu.profile(self.steps(), nodes, want);
        self.check(r)
    }
}

impl Model {
    /// Profiles one forward pass on `input` layer by layer, on a context of its own.
    pub fn profile(&self, input: &Tensor, want: Timing) -> Result<Profile> {
        self.context()?.profile(input, want)
    }

    /// Wall-clock nanoseconds of one [`Model::run`]: input upload, forward pass, readback.
    pub fn time_end_to_end(&self, input: &Tensor) -> Result<f64> {
        let t = Instant::now();
        self.run(input)?;
        Ok(t.elapsed().as_nanos() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::{durations, groups};

    #[test]
    fn steps_group_by_consecutive_node() {
        let g = groups(&[0, 0, 2, 3, 3, 3, 5]);
        let want = vec![(0, 0..2), (2, 2..3), (3, 3..6), (5, 6..7)];
        assert_eq!(g, want);
        assert!(groups(&[]).is_empty());
    }

    #[test]
    fn zero_or_backward_timestamps_are_detected() {
        assert_eq!(durations(&[10, 30, 30, 35], 2.0), Ok(vec![40.0, 10.0]));
        assert_eq!(durations(&[10, 30, 0, 0], 1.0), Err(1));
        assert_eq!(durations(&[10, 30, 50, 40], 1.0), Err(1));
        assert_eq!(durations(&[7, 7], 1.0), Err(0));
    }
}
