//! Own heads: a network whose classifier has another number of classes than the 1000 of
//! ImageNet (a fine-tuned ResNet whose `fc.weight` is `[10, 512]`). The count comes from the
//! caller ([`ModelOptions::classes`]) or, when the caller leaves it open, from the weight file's
//! classifier shape, read from the safetensors header alone ([`classes_in_file`]).
//! [`options_for_weights`] resolves it the way `deeper run` and the C ABI do.
//!
//! ```no_run
//! use deeper::graph::fuse::fuse;
//! use deeper::labels::{read_labels, top_k_named};
//! use deeper::models::{self, head, weights, ModelOptions};
//! use deeper::preprocess::Preprocess;
//! use deeper::runtime::{Gpu, GpuOptions, Model};
//! use std::path::Path;
//!
//! fn main() -> deeper::Result<()> {
//!     let w = Path::new("my_10class.safetensors");
//!     // classes: None = the weight file's classifier's rows (fc.weight [10, 512] -> 10)
//!     let opts = head::options_for_weights("resnet18", &ModelOptions::default(), Some(w))?;
//!     let mut graph = models::build("resnet18", &opts)?;
//!     weights::load_file(&mut graph, w, false)?;
//!     let labels = read_labels(Path::new("my_labels.txt"), opts.classes.unwrap_or(1000))?;
//!     let embed = graph.clone().up_to("flatten")?; // any named layer's output
//!     let gpu = Gpu::new(&GpuOptions::from_env()?)?;
//!     let model = Model::compile(&gpu, &fuse(&graph).graph, 1, true)?;
//!     let features = Model::compile(&gpu, &fuse(&embed).graph, 1, true)?;
//!     let x = Preprocess::for_network("resnet18").load(Path::new("photo.jpg"))?;
//!     let top = top_k_named(&model.run(&x)?[0], 5, Some(&labels));
//!     println!("{} {:.3}", top[0][0].label, top[0][0].prob);
//!     println!("{} features", features.run(&x)?[0].data.len());
//!     Ok(())
//! }
//! ```

use super::{builtin_weights, check_name, weights, ModelOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// The weight key of `name`'s classifier: the last layer, one output row (or channel, for NiN)
/// per class.
pub fn classifier_key(name: &str) -> Result<&'static str> {
    check_name(name)?;
    Ok(match name {
        "lenet5" => "fc3.weight",
        "alexnet-paper" => "fc8.weight",
        "nin" => "cccp8.weight",
        n if n.starts_with("alexnet") || n.starts_with("vgg") => "classifier.6.weight",
        _ => "fc.weight",
    })
}

/// The number of classes of the classifier in the weight file at `path` (the first dimension
/// of [`classifier_key`]'s tensor); `None` when the file has no such key.
pub fn classes_in_file(name: &str, path: &Path) -> Result<Option<usize>> {
    let key = classifier_key(name)?;
    match weights::read_shape(path, key)? {
        Some(dims) if dims.first().is_some_and(|d| *d > 0) => Ok(Some(dims[0])),
        Some(dims) => Err(Error::Invalid(format!(
            "{}: classifier '{key}' has shape {dims:?}, no classes",
            path.display()
        ))),
        None => Ok(None),
    }
}

/// `opts` with its class count settled for `name` and the weights it will get: the caller's
/// when given, else the weight file's classifier's, else the network's own (1000; 10 for
/// lenet5). A count the weight file's classifier or the built-in weights do not have is
/// refused here, naming both counts.
pub fn options_for_weights(
    name: &str,
    opts: &ModelOptions,
    weights: Option<&Path>,
) -> Result<ModelOptions> {
    let mut out = opts.clone();
    if let Some(c) = opts.classes {
        if c == 0 {
            return Err(Error::Invalid("the number of classes is 0".into()));
        }
        crate::limits::at_most(c, crate::limits::MAX_CHANNELS, "the number of classes")?;
    }
    match weights {
        Some(path) => {
            let found = classes_in_file(name, path)?;
            match (opts.classes, found) {
                (Some(c), Some(f)) if c != f => {
                    return Err(Error::Invalid(format!(
                        "{}: its classifier '{}' has {f} classes, not the {c} asked for",
                        path.display(),
                        classifier_key(name)?
                    )))
                }
                (None, f) => out.classes = f,
                _ => {}
            }
        }
        None if builtin_weights(name).is_some() => {
            let own = default_classes(name);
            if opts.classes.is_some_and(|c| c != own) {
                return Err(Error::Invalid(format!(
                    "{name}'s built-in weights have {own} classes, not {}: give a weight file \
                     with your classifier",
                    opts.classes.unwrap_or(own)
                )));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// The class count of `name` when nothing else sets it.
pub fn default_classes(name: &str) -> usize {
    if name == "lenet5" {
        10
    } else {
        1000
    }
}
