//! Adapter selection and device creation. The adapter is the highest-performance one
//! (discrete > integrated > virtual > CPU) unless `DEEPER_BACKEND` (vulkan, metal, dx12, gl)
//! or `DEEPER_ADAPTER` (a case-insensitive substring of the adapter name) say otherwise. The
//! device gets the adapter's own limits and, when present, timestamp queries.
//!
//! Every wait for the device is bounded by [`GpuOptions::timeout`] ([`Gpu::wait_for`]); a
//! device that is lost (reset, removed, or [`Gpu::destroy`]ed) turns every later call into
//! [`Error::DeviceLost`] instead of a hang or a panic.

use super::pipelines::PipelineCache;
use crate::error::{Error, Result};
use crate::ops::{DeviceCaps, DeviceKind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a wait for a GPU may take by default: a GPU that has not finished one forward pass
/// in this time is treated as hung.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default on a software adapter (llvmpipe: a CPU, which does not hang but can take
/// minutes for VGG-16 at batch 32).
pub const SOFTWARE_TIMEOUT: Duration = Duration::from_secs(600);

/// How to choose and configure the GPU.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Backend name (`vulkan`, `metal`, `dx12`, `gl`); `None` = all.
    pub backend: Option<String>,
    /// Substring of the adapter name to require.
    pub adapter: Option<String>,
    /// Treat the storage-binding limit as at most this many bytes (tests use it to force the
    /// split paths on small tensors).
    pub max_binding: Option<u64>,
    /// The longest any wait for the device (a readback, a free execution context) may take
    /// before it fails with [`Error::Timeout`]; `None` = [`DEFAULT_TIMEOUT`]
    /// ([`SOFTWARE_TIMEOUT`] on a CPU adapter).
    pub timeout: Option<Duration>,
}

impl GpuOptions {
    /// Options from `DEEPER_BACKEND`, `DEEPER_ADAPTER`, `DEEPER_MAX_BINDING` (bytes, at least
    /// 4) and `DEEPER_TIMEOUT` (seconds, fractions allowed, above 0). Unset or empty variables
    /// take the defaults; a value that does not parse is an error naming the variable (it is
    /// never silently ignored).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let bad = |k: &str, v: &str, want: &str| {
            Error::Invalid(format!("{k}={v:?} is not valid: {want}"))
        };
        let max_binding = match var("DEEPER_MAX_BINDING") {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(b) if b >= 4 => Some(b),
                _ => return Err(bad("DEEPER_MAX_BINDING", &v, "a byte count of at least 4")),
            },
        };
        let timeout = match var("DEEPER_TIMEOUT") {
            None => None,
            Some(v) => match v.trim().parse::<f64>().map(Duration::try_from_secs_f64) {
                Ok(Ok(d)) if !d.is_zero() => Some(d),
                _ => return Err(bad("DEEPER_TIMEOUT", &v, "seconds above 0, e.g. 30 or 2.5")),
            },
        };
        Ok(GpuOptions {
            backend: var("DEEPER_BACKEND"),
            adapter: var("DEEPER_ADAPTER"),
            max_binding,
            timeout,
        })
    }
}

/// One adapter as `deeper devices` prints it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub limits: wgpu::Limits,
    /// The adapter's optional features, by wgpu's names (`SUBGROUP`, `TIMESTAMP_QUERY`, …).
    pub features: Vec<String>,
    /// Whether it has timestamp queries (per-layer GPU time; else the wall-clock fallback).
    pub timestamps: bool,
    /// Smallest and largest subgroup size, when the adapter has subgroup operations (the
    /// subgroup kernels need at least [`crate::ops::MIN_SUBGROUP_SIZE`]).
    pub subgroup_sizes: Option<(u32, u32)>,
}

/// An open GPU: device, queue, limits in force, pipeline cache. A cheap handle: clones share
/// one device (wgpu's device and queue are reference-counted), so a [`super::Model`] keeps its
/// own clone and needs no lifetime; the device goes when the last clone does.
#[derive(Clone)]
pub struct Gpu {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) pipelines: Arc<PipelineCache>,
    pub(super) dummy: wgpu::Buffer,
    pub(super) uncaptured: Arc<Mutex<Vec<String>>>,
    /// Why the device was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
    timeout: Duration,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    max_binding: u64,
    timestamps: bool,
    subgroups: bool,
}

fn backends(name: Option<&str>) -> Result<wgpu::Backends> {
    Ok(match name.map(str::to_ascii_lowercase).as_deref() {
        None => wgpu::Backends::all(),
        Some("vulkan") => wgpu::Backends::VULKAN,
        Some("metal") => wgpu::Backends::METAL,
        Some("dx12") => wgpu::Backends::DX12,
        Some("gl") => wgpu::Backends::GL,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "unknown backend '{other}' (DEEPER_BACKEND: vulkan, metal, dx12, gl)"
            )))
        }
    })
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn adapters(opts: &GpuOptions) -> Result<Vec<wgpu::Adapter>> {
    let b = backends(opts.backend.as_deref())?;
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = b;
    let instance = wgpu::Instance::new(desc);
    let mut list = pollster::block_on(instance.enumerate_adapters(b));
    if let Some(sub) = &opts.adapter {
        let sub = sub.to_lowercase();
        list.retain(|a| a.get_info().name.to_lowercase().contains(&sub));
    }
    // Stable: by device type, Vulkan before GL for the same device.
    list.sort_by_key(|a| {
        let i = a.get_info();
        (rank(i.device_type), i.backend == wgpu::Backend::Gl)
    });
    Ok(list)
}

/// Every adapter wgpu can see under `opts` (best first).
pub fn list_adapters(opts: &GpuOptions) -> Result<Vec<AdapterSummary>> {
    Ok(adapters(opts)?
        .iter()
        .map(|a| {
            let i = a.get_info();
            AdapterSummary {
                name: i.name,
                backend: format!("{:?}", i.backend),
                device_type: format!("{:?}", i.device_type),
                driver: i.driver,
                driver_info: i.driver_info,
                limits: a.limits(),
                features: a
                    .features()
                    .iter_names()
                    .map(|(name, _)| name.to_string())
                    .collect(),
                timestamps: a.features().contains(wgpu::Features::TIMESTAMP_QUERY),
                subgroup_sizes: a
                    .features()
                    .contains(wgpu::Features::SUBGROUP)
                    .then_some((i.subgroup_min_size, i.subgroup_max_size)),
            }
        })
        .collect())
}

impl Gpu {
    /// Opens the best adapter under `opts`.
    pub fn new(opts: &GpuOptions) -> Result<Gpu> {
        let adapter = adapters(opts)?.into_iter().next().ok_or_else(|| {
            Error::NoAdapter(format!(
                "backend {:?}, adapter filter {:?}; on a machine without a GPU install Mesa's \
                 software Vulkan driver (apt-get install mesa-vulkan-drivers)",
                opts.backend.as_deref().unwrap_or("any"),
                opts.adapter.as_deref().unwrap_or("none")
            ))
        })?;
        let info = adapter.get_info();
        let mut wanted =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS;
        if info.subgroup_min_size >= crate::ops::MIN_SUBGROUP_SIZE {
            wanted |= wgpu::Features::SUBGROUP;
        }
        let features = adapter.features() & wanted;
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("deeper"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::Device(e.to_string()))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let timeout = opts.timeout.unwrap_or(match info.device_type {
            wgpu::DeviceType::Cpu => SOFTWARE_TIMEOUT,
            _ => DEFAULT_TIMEOUT,
        });
        let lost = Arc::new(Mutex::new(None));
        let sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut l) = sink.lock() {
                l.get_or_insert(format!("{reason:?}: {message}"));
            }
        });
        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let hw = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_binding = opts.max_binding.map_or(hw, |m| m.min(hw));
        Ok(Gpu {
            pipelines: Arc::default(),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            info,
            device,
            queue,
            dummy,
            uncaptured,
            lost,
            timeout,
            limits,
            max_binding,
        })
    }

    /// Adapter name, backend and driver, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, llvmpipe)`.
    pub fn description(&self) -> String {
        format!(
            "{} ({:?}, {})",
            self.info.name, self.info.backend, self.info.driver
        )
    }

    /// Whether the adapter is a discrete or integrated GPU, where the autotuner runs by
    /// default (not a CPU-type adapter such as llvmpipe, nor a virtual or unknown one).
    pub fn is_hardware_gpu(&self) -> bool {
        matches!(
            self.info.device_type,
            wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu
        )
    }

    /// The adapter's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The limits the device was created with (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Largest storage binding (and buffer) `deeper` uses, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// What decides which kernels can run here and which the rules pick (binding limit,
    /// subgroups, adapter kind, workgroup memory).
    pub fn caps(&self) -> DeviceCaps {
        DeviceCaps {
            max_binding: self.max_binding,
            subgroups: self.subgroups,
            kind: match self.info.device_type {
                wgpu::DeviceType::Cpu => DeviceKind::Cpu,
                wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu,
                wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu,
                wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => DeviceKind::Other,
            },
            subgroup_size: if self.subgroups {
                self.info.subgroup_min_size
            } else {
                0
            },
            max_workgroup_storage: self.limits.max_compute_workgroup_storage_size,
        }
    }

    /// Whether the device records timestamp queries.
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// The longest a wait for this device may take ([`GpuOptions::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Destroys the device, as a GPU reset or removal would: work in flight is abandoned and
    /// every later call on this `Gpu` (and the models compiled on it) fails with
    /// [`Error::DeviceLost`]. Other `Gpu`s are not affected. Tests use it to check that a lost
    /// device gives errors, not hangs.
    pub fn destroy(&self) {
        self.mark_lost("destroyed by Gpu::destroy");
        self.device.destroy();
    }

    fn mark_lost(&self, why: &str) {
        if let Ok(mut l) = self.lost.lock() {
            l.get_or_insert_with(|| why.to_string());
        }
    }

    /// [`Error::DeviceLost`] once the device is lost.
    pub(super) fn alive(&self) -> Result<()> {
        match self.lost.lock().map(|l| l.clone()) {
            Ok(None) => Ok(()),
            Ok(Some(why)) => Err(Error::DeviceLost(why)),
            Err(_) => Err(Error::DeviceLost("lost-device state poisoned".into())),
        }
    }

    /// Waits, at most [`Gpu::timeout`] from `start`, until submission `index` (or every
    /// submission so far) has finished and its callbacks have run.
    pub(super) fn wait_for(
        &self,
        index: Option<wgpu::SubmissionIndex>,
        what: &str,
        start: Instant,
    ) -> Result<()> {
        self.alive()?;
        let timeout = self.timeout.saturating_sub(start.elapsed());
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: index,
            timeout: Some(timeout),
        });
        self.alive()?;
        match polled {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(self.timed_out(what)),
            Err(e) => Err(Error::Gpu {
                context: what.into(),
                message: e.to_string(),
            }),
        }
    }

    /// The [`Error::Timeout`] of a wait for `what` that ran the whole [`Gpu::timeout`].
    pub(super) fn timed_out(&self, what: &str) -> Error {
        Error::Timeout {
            what: what.to_string(),
            ms: self.timeout.as_millis(),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes; any error becomes
    /// [`Error::Gpu`] with `context` ([`Error::DeviceLost`] once the device is lost).
    pub(super) fn scoped<T>(&self, context: &str, f: impl FnOnce() -> T) -> Result<T> {
        self.alive()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let errs = [pollster::block_on(val.pop()), pollster::block_on(oom.pop())];
        self.alive()?;
        if let Some(e) = errs.into_iter().flatten().next() {
            return Err(Error::Gpu {
                context: context.into(),
                message: e.to_string(),
            });
        }
        let mut late = self
            .uncaptured
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        match late.pop() {
            Some(message) => Err(Error::Gpu {
                context: context.into(),
                message,
            }),
            None => Ok(out),
        }
    }
}
