//! Features, not only logits: [`Graph::up_to`] cuts a network after any named layer, so that
//! the layer's output is what a run returns (ResNet-50's `flatten` is its 2048-d embedding).
//! Only the layers that output depends on are kept; their weights are the network's, so a
//! graph is cut after its weights are loaded. An unknown name is refused with the names
//! nearest to it.

use super::{Graph, Value};
use crate::error::{Error, Result};

impl Graph {
    /// This graph returning the output of layer `layer` (a node name as `deeper info` lists
    /// it: `layer4.2.bn3`, `avgpool`, `flatten`) and holding only the layers it needs. Takes
    /// the graph (clone it to keep the whole): the kept layers' weights move, not copy.
    pub fn up_to(self, layer: &str) -> Result<Graph> {
        let Some(last) = self.nodes.iter().position(|n| n.name == layer) else {
            return Err(self.unknown_layer(layer));
        };
        let mut needed = vec![false; last + 1];
        needed[last] = true;
        for i in (0..=last).rev() {
            if needed[i] {
                for v in &self.nodes[i].inputs {
                    if let Some(p) = v.0.checked_sub(1) {
                        needed[p] = true;
                    }
                }
            }
        }
        let mut new_value = vec![Value(0); last + 2];
        let mut nodes = Vec::new();
        for (i, mut n) in self.nodes.into_iter().take(last + 1).enumerate() {
            if needed[i] {
                n.inputs = n.inputs.iter().map(|v| new_value[v.0]).collect();
                nodes.push(n);
                new_value[i + 1] = Value(nodes.len());
            }
        }
        Ok(Graph {
            name: self.name,
            input: self.input,
            nodes,
            outputs: vec![new_value[last + 1]],
        })
    }

    /// The error for a layer name this graph lacks, with the nearest names.
    fn unknown_layer(&self, layer: &str) -> Error {
        let near = nearest(layer, self.nodes.iter().map(|n| n.name.as_str()));
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; nearest: {}", near.join(", "))
        };
        Error::Invalid(format!(
            "{} has no layer '{layer}'{hint} (`deeper info {}` lists them all)",
            self.name, self.name
        ))
    }
}

/// Up to eight of `names` closest to `query`: those containing it (or contained in it) first,
/// then those within a third of its length in edit distance, nearest first.
pub fn nearest<'a>(query: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let q = query.to_lowercase();
    let limit = (q.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = names
        .filter_map(|n| {
            let l = n.to_lowercase();
            let d = edit_distance(&q, &l);
            let contains = !q.is_empty() && (l.contains(&q) || q.contains(&l));
            match (contains, d <= limit) {
                (true, _) => Some((d.min(limit), n)),
                (false, true) => Some((d, n)),
                _ => None,
            }
        })
        .collect();
    scored.sort_by_key(|(d, _)| *d);
    scored.into_iter().map(|(_, n)| n).take(8).collect()
}

/// Levenshtein distance between `a` and `b` (characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
