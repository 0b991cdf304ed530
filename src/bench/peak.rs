//! The device's own ceilings: attainable f32 FMA rate (`peak_fma.wgsl`, register-only FMA
//! chains) and copy bandwidth (`peak_copy.wgsl`, a vec4 read and write of a large buffer), each
//! timed with the profiler (timestamps, or its wall-clock fallback) and reported as the best of
//! several repetitions. Results are cached per device in a JSON file
//! (`$DEEPER_PEAK_CACHE`, else `$XDG_CACHE_HOME/deeper/peak.json`, else
//! `~/.cache/deeper/peak.json`) so that `deeper bench <net>` need not re-measure.

use super::JsonCache;
use crate::error::{Error, Result};
use crate::ops::Shader;
use crate::runtime::{Gpu, Profile, Timing};
use crate::shape::Shape;
use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

crate::shader!(FMA, "peak_fma", 1);
crate::shader!(COPY, "peak_copy", 2);

/// The benchmark shaders (not ops; listed for the shader validation tests).
pub fn shaders() -> Vec<&'static Shader> {
    vec![&FMA, &COPY]
}

/// Uniform of `peak_fma.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FmaUniform {
    pub iters: u32,
    pub mul: f32,
    pub add: f32,
    pub _pad0: u32,
}

/// Uniform of `peak_copy.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CopyUniform {
    /// vec4 elements to copy.
    pub n: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// vec4 FMAs per invocation and loop iteration of `peak_fma.wgsl`.
const FMA_PER_ITER: f64 = (CHAINS * FMA_PER_CHAIN) as f64;
/// Independent vec4 chains per invocation of `peak_fma.wgsl`, and FMAs on each per iteration.
const CHAINS: usize = 3;
const FMA_PER_CHAIN: usize = 64;
/// Workgroups of 64 invocations the FMA shader launches (enough to fill large GPUs).
const FMA_WORKGROUPS: u32 = 4096;
/// Bytes per copy buffer (at most one binding).
const COPY_BYTES: u64 = 64 << 20;

/// Measured ceilings of one device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Peak {
    /// [`Gpu::description`].
    pub device: String,
    /// Attainable FMA rate, GFLOP/s (an FMA counts 2).
    pub gflops: f64,
    /// Copy bandwidth, GB/s (read + write bytes).
    pub gbps: f64,
    pub timing: String,
    /// `true` for the short measurement taken when nothing was cached.
    pub quick: bool,
    /// [`METHOD`] of the shaders that measured it; cached entries of other methods are ignored.
    #[serde(default)]
    pub method: String,
}

/// Names the measuring shaders' current form; bump it when they change, so that ceilings
/// cached by older shaders are measured again (the 8-chain FMA shader of before read 92 GFLOP/s
/// on llvmpipe where the 3-chain one reads 209).
pub const METHOD: &str = "fma 3x64, copy 4 per invocation";

impl Peak {
    /// FLOP per byte where the two ceilings meet.
    pub fn ridge(&self) -> f64 {
        self.gflops / self.gbps
    }
}

/// Measures both ceilings; `quick` uses shorter runs (about a second in all on llvmpipe).
pub fn measure(gpu: &Gpu, quick: bool, timing: Timing) -> Result<Peak> {
    let (target_ns, reps) = if quick { (4e7, 3) } else { (2e8, 5) };
    let (gflops, t1) = fma_rate(gpu, target_ns, reps, timing)?;
    let (gbps, t2) = copy_rate(gpu, reps.max(5), timing)?;
    let wall = t1 == Timing::WallClock || t2 == Timing::WallClock;
    Ok(Peak {
        device: gpu.description(),
        gflops,
        gbps,
        timing: if wall {
            Timing::WallClock
        } else {
            Timing::Timestamps
        }
        .as_str()
        .into(),
        quick,
        method: METHOD.into(),
    })
}

/// Times `reps` passes of the same dispatch; returns each pass's ns and the timing used.
fn time_reps(
    gpu: &Gpu,
    shader: &'static Shader,
    bufs: &[&crate::runtime::ActBuf],
    uniform: &[u8],
    workgroups: u32,
    reps: usize,
    timing: Timing,
) -> Result<(Vec<f64>, Timing)> {
    let steps = (0..reps)
        .map(|_| gpu.raw_step(shader, bufs, uniform, workgroups))
        .collect::<Result<Vec<_>>>()?;
    let nodes: Vec<usize> = (0..reps).collect();
    let p: Profile = gpu.profile(&steps, &nodes, timing)?;
    Ok((p.layers.iter().map(|l| l.ns).collect(), p.timing))
}

/// Best FMA GFLOP/s, after growing the loop until one pass takes about `target_ns`.
fn fma_rate(gpu: &Gpu, target_ns: f64, reps: usize, timing: Timing) -> Result<(f64, Timing)> {
    let invocations = FMA_WORKGROUPS as usize * 64;
    let out = gpu.alloc(Shape::vector(invocations), true)?;
    let mut u = FmaUniform {
        iters: 16,
        mul: 0.999,
        add: 0.001,
        _pad0: 0,
    };
    let run = |u: &FmaUniform, reps| {
        time_reps(
            gpu,
            &FMA,
            &[&out],
            bytemuck::bytes_of(u),
            FMA_WORKGROUPS,
            reps,
            timing,
        )
    };
    loop {
        let (ns, _) = run(&u, 1)?;
        if ns[0] >= target_ns / 2.0 || u.iters >= 1 << 24 {
            break;
        }
        let grow = (target_ns / ns[0].max(1.0)).clamp(2.0, 64.0);
        u.iters = (u.iters as f64 * grow) as u32;
    }
    let (ns, used) = run(&u, reps)?;
    check_fma(&gpu.read(&out)?, &u)?;
    let flops = invocations as f64 * u.iters as f64 * FMA_PER_ITER * 4.0 * 2.0;
    Ok((best_rate(flops, &ns), used))
}

/// Checks that every invocation of `peak_fma.wgsl` wrote what its credited FMAs compute: each
/// chain value x0 after n = iters · 64 steps of x ← x·mul + add is, in closed form,
/// f + (x0 − f)·mulⁿ with f = add / (1 − mul), and an invocation writes the sum of its 12.
/// One that did not run its loop (off by ~1.8) or did not write (the buffer starts as NaN)
/// fails; the tolerance covers f32 rounding near the fixed point (≤ 12 · 6e-5).
fn check_fma(out: &Tensor, u: &FmaUniform) -> Result<()> {
    let (m, c) = (u.mul as f64, u.add as f64);
    let fixed = c / (1.0 - m);
    let decay = m.powf((u.iters as usize * FMA_PER_CHAIN) as f64);
    for (i, &got) in out.data.iter().enumerate() {
        let s = (i & 255) as f64 * 1e-3;
        let want: f64 = (0..CHAINS)
            .flat_map(|chain| (0..4).map(move |lane| chain as f64 + 0.1 * lane as f64 + s))
            .map(|x0| fixed + (x0 - fixed) * decay)
            .sum();
        let close = (got as f64 - want).abs() <= 5e-3; // false for NaN
        if !close {
            return Err(Error::Gpu {
                context: "peak_fma".into(),
                message: format!("invocation {i} wrote {got}, the credited FMAs give {want:.4}"),
            });
        }
    }
    Ok(())
}

/// Best copy GB/s over `reps` passes.
fn copy_rate(gpu: &Gpu, reps: usize, timing: Timing) -> Result<(f64, Timing)> {
    let bytes = COPY_BYTES.min(gpu.max_binding()) / 4096 * 4096;
    let elems = (bytes / 4) as usize;
    let pattern = (0..elems).map(|i| (i % 65_521) as f32 + 0.5).collect();
    let src_values = Tensor::new(Shape::vector(elems), pattern)?;
    let src = gpu.upload(&src_values)?;
    let dst = gpu.alloc(Shape::vector(elems), true)?;
    let n = (elems / 4) as u32;
    let u = CopyUniform {
        n,
        ..Default::default()
    };
    let groups = (n / 4).div_ceil(256);
    let (ns, used) = time_reps(
        gpu,
        &COPY,
        &[&src, &dst],
        bytemuck::bytes_of(&u),
        groups,
        reps,
        timing,
    )?;
    let copied = gpu.read(&dst)?;
    if let Some(i) = (0..elems).find(|&i| copied.data[i] != src_values.data[i]) {
        return Err(Error::Gpu {
            context: "peak_copy".into(),
            message: format!(
                "element {i} is {}, expected {}: the copy is not the one credited",
                copied.data[i], src_values.data[i]
            ),
        });
    }
    Ok((best_rate(2.0 * bytes as f64, &ns), used))
}

/// `work / time` in G/s for the fastest of `ns`.
fn best_rate(work: f64, ns: &[f64]) -> f64 {
    let best = ns.iter().copied().fold(f64::INFINITY, f64::min);
    work / best.max(1.0)
}

/// Every device's cached ceilings.
fn cache() -> JsonCache {
    JsonCache::new("DEEPER_PEAK_CACHE", "peak.json")
}

/// Ceilings above these are not a device's (an H200 reaches about 60,000 GFLOP/s and
/// 4,800 GB/s): a cached value outside `(0, max]` or not finite is measured again.
const MAX_GFLOPS: f64 = 1e7;
const MAX_GBPS: f64 = 1e6;

/// The cached ceilings of `gpu`'s device, if any; an entry with impossible values is
/// reported on stderr and ignored (so it is measured again and replaced).
pub fn cached(gpu: &Gpu) -> Option<Peak> {
    let device = gpu.description();
    let p = cache()
        .read::<Vec<Peak>>()
        .into_iter()
        .find(|p| p.device == device && p.method == METHOD)?;
    let sane = |v: f64, max: f64| v.is_finite() && v > 0.0 && v <= max;
    if sane(p.gflops, MAX_GFLOPS) && sane(p.gbps, MAX_GBPS) {
        return Some(p);
    }
    eprintln!(
        "warning: cached peak of {device} is not plausible ({} GFLOP/s, {} GB/s); measuring again",
        p.gflops, p.gbps
    );
    None
}

/// Stores `peak` in the cache, replacing the device's previous entry and keeping the others
/// (merged under the cache's lock; a cache that cannot be written is a warning).
pub fn save(peak: &Peak) -> Result<()> {
    cache().update(|all: &mut Vec<Peak>| {
        all.retain(|p| p.device != peak.device);
        all.push(peak.clone());
    });
    Ok(())
}

/// The cached ceilings, or a quick measurement (then cached).
pub fn cached_or_quick(gpu: &Gpu, timing: Timing) -> Result<Peak> {
    if let Some(p) = cached(gpu) {
        return Ok(p);
    }
    let p = measure(gpu, true, timing)?;
    save(&p)?;
    Ok(p)
}
