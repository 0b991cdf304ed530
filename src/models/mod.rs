//! The classic networks as graph builders that read like their papers. Every builder takes
//! [`ModelOptions`] (input size, seed, auxiliary heads) and returns a [`Graph`] with seeded
//! random weights; weight files replace them by key (PyTorch / torchvision `state_dict` names).

mod alexnet;
mod googlenet;
pub mod head;
mod lenet;
mod nin;
mod resnet;
mod vgg;
pub mod weights;

use crate::error::{Error, Result};
use crate::graph::Graph;

/// How to build a network.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelOptions {
    /// Input height and width (`None` = the network's native size: 224, 227 for
    /// alexnet-paper, 32 for lenet5).
    pub size: Option<usize>,
    /// Seed of the random weights.
    pub seed: u64,
    /// GoogLeNet only: add the two auxiliary classifiers as extra outputs.
    pub aux: bool,
    /// Number of classes (1000 for ImageNet networks, 10 for lenet5 when `None`);
    /// [`head::options_for_weights`] takes it from a weight file.
    pub classes: Option<usize>,
}

/// Every network name `deeper` knows, in the order tables list them.
pub const NETWORKS: &[&str] = &[
    "lenet5",
    "alexnet",
    "alexnet-paper",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg16-bn",
    "vgg19-bn",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "nin",
    "googlenet",
    "googlenet-paper",
];

/// The native input size of `name` (height = width).
pub fn native_size(name: &str) -> usize {
    match name {
        "lenet5" => 32,
        "alexnet-paper" => 227,
        _ => 224,
    }
}

/// Builds network `name`.
pub fn build(name: &str, opts: &ModelOptions) -> Result<Graph> {
    let size = opts.size.unwrap_or_else(|| native_size(name));
    crate::limits::at_most(size, crate::limits::MAX_SIDE, "input size")?;
    let classes = opts.classes.unwrap_or_else(|| head::default_classes(name));
    if classes == 0 {
        return Err(Error::Invalid("the number of classes is 0".into()));
    }
    crate::limits::at_most(
        classes,
        crate::limits::MAX_CHANNELS,
        "the number of classes",
    )?;
    let o = BuildArgs {
        size,
        seed: opts.seed,
        classes,
        aux: opts.aux,
    };
    match name {
        "lenet5" => lenet::lenet5(&o),
        "alexnet" => alexnet::alexnet(&o),
        "alexnet-paper" => alexnet::alexnet_paper(&o),
        "vgg11" | "vgg13" | "vgg16" | "vgg19" | "vgg16-bn" | "vgg19-bn" => vgg::vgg(name, &o),
        "resnet18" | "resnet34" | "resnet50" | "resnet101" | "resnet152" => {
            resnet::resnet(name, &o)
        }
        "nin" => nin::nin(&o),
        "googlenet" | "googlenet-paper" => googlenet::googlenet(name, &o),
        _ => Err(unknown(name)),
    }
}

/// Whether `name` is one of [`NETWORKS`]; the error lists them.
pub fn check_name(name: &str) -> Result<()> {
    if NETWORKS.contains(&name) {
        Ok(())
    } else {
        Err(unknown(name))
    }
}

fn unknown(name: &str) -> Error {
    Error::Invalid(format!(
        "unknown network '{name}' (known: {})",
        NETWORKS.join(", ")
    ))
}

/// The weights `deeper` ships for `name`, as a safetensors image: LeNet-5 trained on real MNIST
/// digits by `scripts/train_lenet5.py` (99.4% on the 1,000 held-out digits in `data/`).
pub fn builtin_weights(name: &str) -> Option<&'static [u8]> {
    match name {
        "lenet5" => Some(include_bytes!("../../data/lenet5_mnist.safetensors")),
        _ => None,
    }
}

/// Resolved build arguments handed to each builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BuildArgs {
    pub size: usize,
    pub seed: u64,
    pub classes: usize,
    pub aux: bool,
}
