//! The buffer plan: where every value lives on the GPU for a given batch size.
//!
//! - A *view* (flatten) lives where its input lives.
//! - A concat whose inputs are each produced by a kernel and read by nothing else is free: each
//!   producer writes straight into its channel slice of the concat's buffer (`c_offset`).
//! - Every other value owns a region (a *root*). Roots are given slots by liveness: a slot is
//!   taken when the root's first writer runs and released after its last reader, and released
//!   slots are reused (best fit, grown if needed). Graph outputs are never released.
//!
//! A node's output is placed before its inputs are released, so no kernel reads and writes the
//! same slot. `reuse = false` gives every root its own slot (for layer-by-layer checks).

use super::{Graph, Value};
use crate::error::Result;
use crate::ops::Op;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Where a value lives: slot, the shape of the region in it, and the first channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub slot: usize,
    /// The whole region (the concat's shape for a slice of a concat).
    pub region: Shape,
    pub c_offset: usize,
}

impl Location {
    /// Whether a value of `shape` fills its region (a root, or a view of one) rather than being a
    /// channel slice of a concat's region.
    pub fn is_whole(&self, shape: Shape) -> bool {
        self.c_offset == 0 && self.region.numel() == shape.numel()
    }

    /// The value of `shape` stored here, given the region's elements in NCHW order (extra
    /// trailing elements of a larger slot are ignored).
    pub fn extract(&self, region: &[f32], shape: Shape) -> Tensor {
        if self.is_whole(shape) {
            let data = region[..shape.numel()].to_vec();
            return Tensor { shape, data };
        }
        let run = shape.per_sample();
        let data = (0..shape.n)
            .flat_map(|n| {
                let start = self.region.index(n, self.c_offset, 0, 0);
                region[start..start + run].iter().copied()
            })
            .collect();
        Tensor { shape, data }
    }
}

/// The plan for one batch size.
#[derive(Clone, Debug)]
pub struct Plan {
    pub locations: Vec<Location>,
    /// Size of each slot in f32 elements.
    pub slot_elems: Vec<usize>,
    /// For each node, whether it runs at all (free concats and views do not).
    pub runs: Vec<bool>,
    /// Bytes of all slots (the peak activation memory).
    pub peak_bytes: u64,
    /// Bytes if every value had its own buffer.
    pub total_bytes: u64,
}

/// For each value, the value whose region it lives in, and the channel offset there.
fn roots(graph: &Graph, shapes: &[Shape]) -> (Vec<(Value, usize)>, Vec<bool>) {
    let uses = graph.use_counts();
    let mut root: Vec<(Value, usize)> = (0..=graph.nodes.len()).map(|v| (Value(v), 0)).collect();
    let mut runs = vec![true; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        let me = Value(i + 1);
        match &node.op {
            Op::Flatten => {
                root[me.0] = root[node.inputs[0].0];
                runs[i] = false;
            }
            Op::Concat(_) if concat_is_free(graph, &uses, &node.inputs, &root) => {
                let mut offset = 0;
                for v in &node.inputs {
                    root[v.0] = (me, offset);
                    offset += shapes[v.0].c;
                }
                runs[i] = false;
            }
            _ => {}
        }
    }
    // Resolve chains (a slice of a concat that is itself a slice) to their final region.
    for v in (0..root.len()).rev() {
        let (r, off) = root[v];
        if r.0 != v {
            let (rr, roff) = root[r.0];
            root[v] = (rr, off + roff);
        }
    }
    (root, runs)
}

fn concat_is_free(
    graph: &Graph,
    uses: &[usize],
    inputs: &[Value],
    root: &[(Value, usize)],
) -> bool {
    let mut seen = std::collections::HashSet::new();
    inputs.iter().all(|v| {
        let op = graph.producer(*v).map(|n| &n.op);
        let ok_producer = op.is_some_and(|op| !matches!(op, Op::Flatten | Op::Concat(_)));
        ok_producer && uses[v.0] == 1 && root[v.0].0 == *v && seen.insert(*v)
    })
}

/// Plans `graph` (already fused) for a batch of `n`.
pub fn plan(graph: &Graph, n: usize, reuse: bool) -> Result<Plan> {
    let shapes = super::infer::shapes(graph, n)?;
    let (root, runs) = roots(graph, &shapes);
    let values = shapes.len();
    // Last reader of every root (a root is placed when its first value is written).
    let mut last = vec![0usize; values];
    for (i, node) in graph.nodes.iter().enumerate() {
        for v in node.inputs.iter().chain(std::iter::once(&Value(i + 1))) {
            let r = root[v.0].0 .0;
            last[r] = last[r].max(i + 1);
        }
    }
    for v in &graph.outputs {
        last[root[v.0].0 .0] = usize::MAX;
    }
    let mut released_at: Vec<Vec<usize>> = vec![Vec::new(); values];
    for v in (0..values).filter(|v| root[*v].0 .0 == *v && last[*v] < values) {
        released_at[last[v]].push(v);
    }
    let mut slot_of = vec![usize::MAX; values];
    let mut slot_elems: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    for step in 0..values {
        // Place the roots first written at this step (value `step`).
        let r = root[step].0 .0;
        if slot_of[r] == usize::MAX {
            let need = shapes[r].numel();
            slot_of[r] = take_slot(&mut slot_elems, &mut free, need, reuse);
        }
        // Release roots whose last reader is node `step - 1` (value `step`).
        if reuse {
            free.extend(released_at[step].iter().map(|v| slot_of[*v]));
        }
    }
    let locations = (0..values)
        .map(|v| {
            let (rv, off) = root[v];
            Location {
                slot: slot_of[rv.0],
                region: shapes[rv.0],
                c_offset: off,
            }
        })
        .collect();
    let bytes = |e: usize| e as u64 * 4;
    let total = (0..values)
        .filter(|v| root[*v].0 .0 == *v)
        .map(|v| bytes(shapes[v].numel()))
        .sum();
    Ok(Plan {
        locations,
        peak_bytes: slot_elems.iter().map(|e| bytes(*e)).sum(),
        total_bytes: total,
        slot_elems,
        runs,
    })
}

/// A slot for `need` elements: the smallest free one that fits, else the largest free one
/// grown, else a new one.
fn take_slot(slots: &mut Vec<usize>, free: &mut Vec<usize>, need: usize, reuse: bool) -> usize {
    if reuse && !free.is_empty() {
        let fits = free.iter().enumerate().filter(|(_, s)| slots[**s] >= need);
        let pick = fits
            .min_by_key(|(_, s)| slots[**s])
            .map(|(i, _)| i)
            .unwrap_or_else(|| {
                let largest = free.iter().enumerate().max_by_key(|(_, s)| slots[**s]);
                largest.map_or(0, |(i, _)| i)
            });
        let s = free.swap_remove(pick);
        slots[s] = slots[s].max(need);
        return s;
    }
    slots.push(need);
    slots.len() - 1
}
