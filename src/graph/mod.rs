//! The layer graph. A [`Graph`] is a list of [`Node`]s in topological order (by construction:
//! a node can only consume values that exist); value 0 is the network input and node `i`
//! produces value `i + 1`. Nodes carry their parameters, named like PyTorch's `state_dict`
//! (`<node name>.<suffix>`). [`GraphBuilder`] builds graphs with seeded random weights.
//!
//! Stages (each a plain value, testable without a GPU): [`infer`] (shapes, params, MACs),
//! [`fuse`] (BN folding, residual fusion), [`plan`] (buffer slots from liveness).

pub mod cut;
pub mod fuse;
pub mod infer;
pub mod init;
pub mod plan;

use crate::error::{Error, Result};
use crate::ops::{
    Activation, AdaptiveAvgPool2d, Add, BatchNorm2d, Concat, Conv2d, Linear, Lrn, Op, Pool2d,
    Softmax,
};
use crate::shape::Shape;
use crate::tensor::{Rng, Tensor};

/// A value in a graph: 0 is the input, `i + 1` the output of node `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub usize);

/// One layer: its op, the values it reads, its parameters.
#[derive(Clone, Debug)]
pub struct Node {
    /// Module path, as in PyTorch (`features.0`, `layer1.0.conv1`); parameter keys extend it.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<Value>,
    /// As listed by [`Op::param_shapes`].
    pub params: Vec<Tensor>,
}

/// A network: nodes in topological order and the values it returns.
#[derive(Clone, Debug)]
pub struct Graph {
    /// Network name (`resnet50`).
    pub name: String,
    /// Shape of one input sample (`n` = 1).
    pub input: Shape,
    pub nodes: Vec<Node>,
    /// Returned values: the logits first, then any auxiliary outputs.
    pub outputs: Vec<Value>,
}

impl Graph {
    /// The same graph without its parameters (every node's `params` empty): the structure a
    /// compiled model keeps once its weights are on the GPU.
    pub fn structure(&self) -> Graph {
        let nodes = self.nodes.iter().map(|n| Node {
            name: n.name.clone(),
            op: n.op.clone(),
            inputs: n.inputs.clone(),
            params: Vec::new(),
        });
        Graph {
            name: self.name.clone(),
            input: self.input,
            nodes: nodes.collect(),
            outputs: self.outputs.clone(),
        }
    }

    /// Whether the (first) output is a vector per sample: it comes from a flatten, linear or
    /// softmax layer (PyTorch's 2-D tensors there), `[N, F]` rather than `[N, C, H, W]`.
    pub fn flat_output(&self) -> bool {
        let op = self.producer(self.outputs[0]).map(|n| &n.op);
        matches!(op, Some(Op::Flatten | Op::Linear(_) | Op::Softmax(_)))
    }

    /// The node producing `v` (`None` for the input).
    pub fn producer(&self, v: Value) -> Option<&Node> {
        v.0.checked_sub(1).map(|i| &self.nodes[i])
    }

    /// For each value, how many node inputs (and graph outputs) read it.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut uses = vec![0; self.nodes.len() + 1];
        for v in self
            .nodes
            .iter()
            .flat_map(|n| &n.inputs)
            .chain(&self.outputs)
        {
            uses[v.0] += 1;
        }
        uses
    }

    /// Every parameter as `(key, tensor)`, in node order.
    pub fn params(&self) -> impl Iterator<Item = (String, &Tensor)> {
        self.nodes.iter().flat_map(|n| {
            n.op.param_shapes()
                .into_iter()
                .zip(&n.params)
                .map(move |((suffix, _), t)| (format!("{}.{suffix}", n.name), t))
        })
    }

    /// Mutable access to every parameter with its key (for loading weights).
    pub fn params_mut(&mut self) -> impl Iterator<Item = (String, &mut Tensor)> {
        self.nodes.iter_mut().flat_map(|n| {
            let names: Vec<_> = n.op.param_shapes().into_iter().map(|(s, _)| s).collect();
            let node = n.name.clone();
            names
                .into_iter()
                .zip(n.params.iter_mut())
                .map(move |(suffix, t)| (format!("{node}.{suffix}"), t))
        })
    }

    /// Number of parameters (weights, biases, BN affine; BN running statistics are buffers in
    /// PyTorch and not counted).
    pub fn param_count(&self) -> u64 {
        self.params()
            .filter(|(k, _)| !k.ends_with("running_mean") && !k.ends_with("running_var"))
            .map(|(_, t)| t.data.len() as u64)
            .sum()
    }
}

/// Builds a [`Graph`] layer by layer with seeded random weights ([`init`]).
pub struct GraphBuilder {
    graph: Graph,
    rng: Rng,
    /// The first layer whose parameters were too large to allocate ([`GraphBuilder::finish`]
    /// returns it), so builders stay plain calls.
    error: Option<Error>,
}

impl GraphBuilder {
    /// A new graph named `name` whose input sample is `[c, h, w]`; returns the input value.
    pub fn new(name: &str, c: usize, h: usize, w: usize, seed: u64) -> (Self, Value) {
        let graph = Graph {
            name: name.to_string(),
            input: Shape::new(1, c, h, w),
            nodes: Vec::new(),
            outputs: Vec::new(),
        };
        (
            GraphBuilder {
                graph,
                rng: Rng::new(seed),
                error: None,
            },
            Value(0),
        )
    }

    /// Adds a node with random parameters and returns its output value.
    /// Parameters larger than the host budget (a classifier that grows with `--size`) are not
    /// allocated: the node gets none and [`GraphBuilder::finish`] reports the layer.
    pub fn add(&mut self, name: &str, op: Op, inputs: &[Value]) -> Value {
        let params = match self.params_fit(name, &op) {
            Ok(()) if self.error.is_none() => init::random_params(&op, &mut self.rng),
            Ok(()) => Vec::new(),
            Err(e) => {
                self.error.get_or_insert(e);
                Vec::new()
            }
        };
        self.graph.nodes.push(Node {
            name: name.to_string(),
            op,
            inputs: inputs.to_vec(),
            params,
        });
        Value(self.graph.nodes.len())
    }

    /// `Conv2d` (square kernel, symmetric padding) with bias and activation.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        x: Value,
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        act: Activation,
    ) -> Value {
        let op = Conv2d {
            activation: act,
            ..Conv2d::new(cin, cout, kernel, stride, pad)
        };
        self.add(name, Op::Conv2d(op), &[x])
    }

    /// Any [`Conv2d`].
    pub fn conv2d(&mut self, name: &str, x: Value, conv: Conv2d) -> Value {
        self.add(name, Op::Conv2d(conv), &[x])
    }

    /// Inference batch norm with `eps` and an activation after it.
    pub fn batch_norm(
        &mut self,
        name: &str,
        x: Value,
        c: usize,
        eps: f32,
        act: Activation,
    ) -> Value {
        let bn = BatchNorm2d {
            channels: c,
            eps,
            activation: act,
        };
        self.add(name, Op::BatchNorm2d(bn), &[x])
    }

    /// Max or average pooling (a node named `name`, no parameters).
    pub fn pool(&mut self, name: &str, x: Value, pool: Pool2d) -> Value {
        self.add(name, Op::Pool2d(pool), &[x])
    }

    /// Adaptive average pooling to `h × w`.
    pub fn adaptive_avg_pool(&mut self, name: &str, x: Value, h: usize, w: usize) -> Value {
        let op = AdaptiveAvgPool2d { out_h: h, out_w: w };
        self.add(name, Op::AdaptiveAvgPool2d(op), &[x])
    }

    /// Local response normalisation (PyTorch parameters).
    pub fn lrn(
        &mut self,
        name: &str,
        x: Value,
        size: usize,
        alpha: f32,
        beta: f32,
        k: f32,
    ) -> Value {
        self.add(
            name,
            Op::Lrn(Lrn {
                size,
                alpha,
                beta,
                k,
            }),
            &[x],
        )
    }

    /// Channel concatenation.
    pub fn concat(&mut self, name: &str, xs: &[Value]) -> Value {
        self.add(name, Op::Concat(Concat), xs)
    }

    /// `act(a + b)`.
    pub fn add_values(&mut self, name: &str, a: Value, b: Value, act: Activation) -> Value {
        self.add(name, Op::Add(Add { activation: act }), &[a, b])
    }

    /// Flatten to `[N, C·H·W]`.
    pub fn flatten(&mut self, name: &str, x: Value) -> Value {
        self.add(name, Op::Flatten, &[x])
    }

    /// `Linear` with bias and activation.
    pub fn linear(
        &mut self,
        name: &str,
        x: Value,
        inf: usize,
        outf: usize,
        act: Activation,
    ) -> Value {
        let op = Linear {
            activation: act,
            ..Linear::new(inf, outf)
        };
        self.add(name, Op::Linear(op), &[x])
    }

    /// Softmax over channels.
    pub fn softmax(&mut self, name: &str, x: Value) -> Value {
        self.add(name, Op::Softmax(Softmax), &[x])
    }

    /// The shape of `v` for one sample, inferred from the layers added so far (for builders
    /// whose layer sizes depend on the input size; errors name the layer that does not fit).
    pub fn shape(&self, v: Value) -> Result<Shape> {
        Ok(infer::shapes(&self.graph, 1)?[v.0])
    }

    /// Whether `op`'s parameters fit the host budget, checked before any is allocated.
    fn params_fit(&self, name: &str, op: &Op) -> Result<()> {
        for (key, s) in op.param_shapes() {
            s.try_numel(&format!(
                "{}: parameter '{name}.{key}' {s} at input {}",
                self.graph.name, self.graph.input
            ))?;
        }
        Ok(())
    }

    /// Finishes the graph with its outputs (logits first); the first layer whose parameters
    /// did not fit is the error.
    pub fn finish(mut self, outputs: &[Value]) -> Result<Graph> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if outputs.is_empty() {
            return Err(Error::Invalid(format!(
                "graph '{}' has no output",
                self.graph.name
            )));
        }
        self.graph.outputs = outputs.to_vec();
        Ok(self.graph)
    }
}
