//! Every network's shapes, parameter count and MACs against torchvision and REFERENCE.md, its
//! parameter keys against torchvision's `state_dict` names, and clean errors for inputs that
//! are too small. No GPU. Each network is built once (VGG allocates ~550 MB of random weights):
//! networks whose weights do not depend on the input size are re-checked at other sizes by
//! changing the graph's input shape.

use deeper::graph::{infer, Graph, GraphBuilder};
use deeper::models::{self, ModelOptions, NETWORKS};
use deeper::ops::{Activation, Conv2d, Lrn, Op};
use deeper::{Error, Result, Shape};
use std::collections::HashSet;

/// Expected multiply-accumulates of one forward pass.
enum Macs {
    Exact(u64),
    /// In G, to the digits given (torchvision's "GFLOPS" column, which counts MACs).
    Giga(&'static str),
}
use Macs::{Exact, Giga};

/// What one network must measure.
struct Expected {
    name: &'static str,
    params: u64,
    macs: Macs,
    /// A reduced input size that must still work.
    small: usize,
    /// Input sizes that must be refused with `Error::Shape`.
    too_small: &'static [usize],
}

/// One test per network, so failures are named and the harness spreads them over the cores.
macro_rules! networks {
    ($($test:ident: $name:literal, $params:expr, $macs:expr, $small:expr, $too_small:expr;)*) => {
        $(
            #[test]
            fn $test() {
                let e = Expected {
                    name: $name,
                    params: $params,
                    macs: $macs,
                    small: $small,
                    too_small: &$too_small,
                };
                check_network(&e);
            }
        )*
        const TESTED: &[&str] = &[$($name),*];
    };
}

// Params and GMACs: REFERENCE.md A.0 (torchvision's documentation where it has them).
// alexnet-paper's MACs are summed by hand: convs 665,784,864 + fcs 58,621,952.
networks! {
    lenet5: "lenet5", 61_706, Exact(416_520), 28, [8];
    alexnet: "alexnet", 61_100_840, Giga("0.714"), 63, [62, 32];
    alexnet_paper: "alexnet-paper", 60_965_224, Exact(724_406_816), 67, [66, 32];
    vgg11: "vgg11", 132_863_336, Giga("7.609"), 32, [31, 16];
    vgg13: "vgg13", 133_047_848, Giga("11.308"), 32, [31, 16];
    vgg16: "vgg16", 138_357_544, Giga("15.47"), 32, [31, 16];
    vgg19: "vgg19", 143_667_240, Giga("19.632"), 32, [31, 16];
    vgg16_bn: "vgg16-bn", 138_365_992, Giga("15.47"), 32, [31, 16];
    vgg19_bn: "vgg19-bn", 143_678_248, Giga("19.632"), 32, [31, 16];
    resnet18: "resnet18", 11_689_512, Giga("1.814"), 32, [0];
    resnet34: "resnet34", 21_797_672, Giga("3.664"), 32, [0];
    resnet50: "resnet50", 25_557_032, Giga("4.089"), 32, [0];
    resnet101: "resnet101", 44_549_160, Giga("7.801"), 32, [0];
    resnet152: "resnet152", 60_192_808, Giga("11.514"), 32, [0];
    nin: "nin", 7_595_176, Giga("1.1002"), 39, [38, 32];
    googlenet: "googlenet", 6_624_904, Giga("1.498"), 15, [14, 8];
    googlenet_paper: "googlenet-paper", 6_998_552, Giga("1.5827"), 15, [14, 8];
}

#[test]
fn every_network_is_tested() {
    assert_eq!(TESTED, NETWORKS);
}

fn check_network(e: &Expected) {
    let mut g = models::build(e.name, &ModelOptions::default()).expect("build");
    let classes = if e.name == "lenet5" { 10 } else { 1000 };
    let logits = Shape::new(1, classes, 1, 1);
    assert_eq!(g.name, e.name, "the graph is named after its network");
    assert_eq!(g.outputs.len(), 1, "{}", e.name);
    assert_eq!(output_shape(&g, 1).unwrap(), logits, "{}", e.name);
    assert_eq!(output_shape(&g, 2).unwrap(), logits.with_n(2), "{}", e.name);
    assert_eq!(g.param_count(), e.params, "{} parameters", e.name);
    check_macs(e.name, total_macs(&g), &e.macs);
    assert_unique_keys(&g);
    spot_checks(&g);

    assert_eq!(
        output_at(&mut g, e.small).unwrap(),
        logits,
        "{} at {}",
        e.name,
        e.small
    );
    for &size in e.too_small {
        match output_at(&mut g, size) {
            Err(Error::Shape { .. }) => {}
            other => panic!(
                "{} at {size}: expected a shape error, got {other:?}",
                e.name
            ),
        }
    }
}

/// Shape of the first output for a batch of `n`.
fn output_shape(g: &Graph, n: usize) -> Result<Shape> {
    Ok(infer::shapes(g, n)?[g.outputs[0].0])
}

/// The logits' shape at input size `size`. Networks whose first fully connected layer depends on
/// the input size are rebuilt; the others reuse `g` with another input shape.
fn output_at(g: &mut Graph, size: usize) -> Result<Shape> {
    if ["lenet5", "alexnet-paper"].contains(&g.name.as_str()) {
        let opts = ModelOptions {
            size: Some(size),
            ..Default::default()
        };
        *g = models::build(&g.name.clone(), &opts)?;
    } else {
        g.input = Shape::new(1, g.input.c, size, size);
    }
    output_shape(g, 1)
}

fn total_macs(g: &Graph) -> u64 {
    infer::summary(g).unwrap().iter().map(|l| l.macs).sum()
}

fn check_macs(name: &str, macs: u64, want: &Macs) {
    match *want {
        Exact(m) => assert_eq!(macs, m, "{name} MACs"),
        Giga(g) => {
            let digits = g.len() - g.find('.').unwrap() - 1;
            let got = format!("{:.*}", digits, macs as f64 / 1e9);
            assert_eq!(got, g, "{name} GMACs ({macs} MACs)");
        }
    }
}

fn assert_unique_keys(g: &Graph) {
    let mut seen = HashSet::new();
    for (key, _) in g.params() {
        assert!(seen.insert(key.clone()), "{}: duplicate key {key}", g.name);
    }
    let mut names = HashSet::new();
    for n in &g.nodes {
        assert!(
            names.insert(&n.name),
            "{}: duplicate node {}",
            g.name,
            n.name
        );
    }
}

/// The shape of parameter `key`, if the graph has it.
fn param(g: &Graph, key: &str) -> Option<Shape> {
    g.params().find(|(k, _)| k == key).map(|(_, t)| t.shape)
}

fn assert_params(g: &Graph, want: &[(&str, Shape)]) {
    for (key, shape) in want {
        assert_eq!(param(g, key), Some(*shape), "{}: {key}", g.name);
    }
}

fn op<'g>(g: &'g Graph, node: &str) -> &'g Op {
    &g.nodes
        .iter()
        .find(|n| n.name == node)
        .unwrap_or_else(|| panic!("no node {node}"))
        .op
}

fn conv(c: usize, cin: usize, k: usize) -> Shape {
    Shape::new(c, cin, k, k)
}

/// Exact torchvision (or Caffe) keys and shapes, network by network.
fn spot_checks(g: &Graph) {
    let (v, m) = (Shape::vector, Shape::matrix);
    match g.name.as_str() {
        "alexnet" => assert_params(
            g,
            &[
                ("features.0.weight", conv(64, 3, 11)),
                ("features.10.bias", v(256)),
                ("classifier.1.weight", m(4096, 9216)),
                ("classifier.6.bias", v(1000)),
            ],
        ),
        "alexnet-paper" => alexnet_paper_keys(g),
        "vgg16" => assert_params(
            g,
            &[
                ("features.28.weight", conv(512, 512, 3)),
                ("classifier.0.weight", m(4096, 25088)),
            ],
        ),
        "vgg16-bn" => assert_params(
            g,
            &[
                ("features.0.bias", v(64)),
                ("features.1.running_var", v(64)),
                ("features.40.weight", conv(512, 512, 3)),
                ("features.41.running_mean", v(512)),
            ],
        ),
        "resnet50" => resnet50_keys(g),
        "googlenet" => googlenet_keys(g),
        "googlenet-paper" => googlenet_paper_keys(g),
        _ => {}
    }
    if g.name.starts_with("vgg") {
        // The last module of `features` is the fifth max pool.
        let last = match g.name.as_str() {
            "vgg11" => "features.20",
            "vgg13" => "features.24",
            "vgg16" => "features.30",
            "vgg19" => "features.36",
            "vgg16-bn" => "features.43",
            _ => "features.52",
        };
        assert!(matches!(op(g, last), Op::Pool2d(_)), "{}: {last}", g.name);
        assert!(g
            .nodes
            .iter()
            .all(|n| !n.name.starts_with(&format!("{last}."))));
    }
}

fn alexnet_paper_keys(g: &Graph) {
    let (v, m) = (Shape::vector, Shape::matrix);
    assert_params(
        g,
        &[
            ("conv1.weight", conv(96, 3, 11)),
            ("conv2.weight", conv(256, 48, 5)),
            ("conv3.weight", conv(384, 256, 3)),
            ("conv4.weight", conv(384, 192, 3)),
            ("conv5.weight", conv(256, 192, 3)),
            ("fc6.weight", m(4096, 9216)),
            ("fc8.bias", v(1000)),
        ],
    );
    let lrn = Op::Lrn(Lrn {
        size: 5,
        alpha: 5e-4,
        beta: 0.75,
        k: 2.0,
    });
    assert_eq!(op(g, "norm1"), &lrn);
    assert_eq!(op(g, "norm2"), &lrn);
}

fn resnet50_keys(g: &Graph) {
    let v = Shape::vector;
    assert_params(
        g,
        &[
            ("conv1.weight", conv(64, 3, 7)),
            ("bn1.running_var", v(64)),
            ("layer1.0.conv1.weight", conv(64, 64, 1)),
            ("layer1.0.downsample.0.weight", conv(256, 64, 1)),
            ("layer1.0.downsample.1.running_mean", v(256)),
            ("layer2.0.conv2.weight", conv(128, 128, 3)),
            ("layer3.5.bn2.bias", v(256)),
            ("layer4.2.conv3.weight", conv(2048, 512, 1)),
            ("layer4.2.bn3.running_var", v(2048)),
            ("fc.weight", Shape::matrix(1000, 2048)),
            ("fc.bias", v(1000)),
        ],
    );
    assert_eq!(param(g, "layer1.1.downsample.0.weight"), None);
    assert_eq!(param(g, "conv1.bias"), None);
    // torchvision's state_dict less the 53 `num_batches_tracked` buffers: 53 convs, 53 BNs, fc.
    assert_eq!(g.params().count(), 53 + 53 * 4 + 2);
    // v1.5: the stride sits on the 3×3 conv.
    let stride = |node| match op(g, node) {
        Op::Conv2d(c) => c.window.h.stride,
        other => panic!("{node} is {other:?}"),
    };
    assert_eq!((stride("layer2.0.conv1"), stride("layer2.0.conv2")), (1, 2));
}

fn googlenet_keys(g: &Graph) {
    let v = Shape::vector;
    assert_params(
        g,
        &[
            ("conv1.conv.weight", conv(64, 3, 7)),
            ("conv1.bn.running_mean", v(64)),
            ("conv3.bn.weight", v(192)),
            ("inception3a.branch1.conv.weight", conv(64, 192, 1)),
            ("inception3a.branch4.1.bn.bias", v(32)),
            ("inception4e.branch3.1.conv.weight", conv(128, 32, 3)),
            ("inception5b.branch2.1.conv.weight", conv(384, 192, 3)),
            ("fc.weight", Shape::matrix(1000, 1024)),
            ("fc.bias", v(1000)),
        ],
    );
    // 57 BasicConv2d (conv weight + 4 BN tensors each), then fc.
    assert_eq!(g.params().count(), 57 * 5 + 2);
    assert!(g.params().all(|(k, _)| !k.ends_with(".conv.bias")));
}

fn googlenet_paper_keys(g: &Graph) {
    assert_params(
        g,
        &[
            ("conv1.conv.bias", Shape::vector(64)),
            ("inception4e.branch3.1.conv.weight", conv(128, 32, 5)),
            ("inception4e.branch3.1.conv.bias", Shape::vector(128)),
        ],
    );
    assert!(g.params().all(|(k, _)| !k.contains(".bn.")));
    let lrn = Op::Lrn(Lrn {
        size: 5,
        alpha: 1e-4,
        beta: 0.75,
        k: 1.0,
    });
    assert_eq!((op(g, "lrn1"), op(g, "lrn2")), (&lrn, &lrn));
}

#[test]
fn googlenet_aux_heads() {
    let opts = ModelOptions {
        aux: true,
        ..Default::default()
    };
    let g = models::build("googlenet", &opts).unwrap();
    assert_eq!(g.param_count(), 13_004_888);
    let shapes = infer::shapes(&g, 1).unwrap();
    let outputs: Vec<Shape> = g.outputs.iter().map(|v| shapes[v.0]).collect();
    assert_eq!(outputs, vec![Shape::new(1, 1000, 1, 1); 3]);
    assert_params(
        &g,
        &[
            ("aux1.conv.conv.weight", conv(128, 512, 1)),
            ("aux1.conv.bn.running_var", Shape::vector(128)),
            ("aux2.conv.conv.weight", conv(128, 528, 1)),
            ("aux1.fc1.weight", Shape::matrix(1024, 2048)),
            ("aux2.fc2.bias", Shape::vector(1000)),
        ],
    );
    // Each head: 16·128·C_in (1×1 conv on 4×4) + 2,048·1,024 + 1,024·1,000.
    let heads: u64 = infer::summary(&g)
        .unwrap()
        .iter()
        .filter(|l| l.name.starts_with("aux"))
        .map(|l| l.macs)
        .sum();
    assert_eq!(
        heads,
        2 * (2048 * 1024 + 1024 * 1000) + 16 * 128 * (512 + 528)
    );
}

#[test]
fn googlenet_paper_aux_heads() {
    let opts = ModelOptions {
        aux: true,
        ..Default::default()
    };
    let g = models::build("googlenet-paper", &opts).unwrap();
    // Heads: 1×1 conv with bias (65,664 / 67,712), fc1 2,098,176, fc2 1,025,000.
    assert_eq!(g.param_count(), 6_998_552 + 3_188_840 + 3_190_888);
    assert_eq!(g.outputs.len(), 3);
    assert!(matches!(op(&g, "aux1.pool"), Op::Pool2d(_)));
    for v in &g.outputs {
        assert_eq!(
            infer::shapes(&g, 1).unwrap()[v.0],
            Shape::new(1, 1000, 1, 1)
        );
    }
}

/// The seed's classic example of why GoogLeNet reduces channels with 1×1 convs first: a 5×5
/// conv 192→32 on 28×28 costs 120 M multiplies; a 1×1 to 16 channels before it, 12 M.
#[test]
fn bottleneck_cost_example() {
    let (mut b, x) = GraphBuilder::new("direct", 192, 28, 28, 0);
    let y = b.conv("conv5x5", x, 192, 32, 5, 1, 2, Activation::Relu);
    let direct = b.finish(&[y]).unwrap();
    assert_eq!(total_macs(&direct), 120_422_400);
    let out = Shape::new(1, 32, 28, 28);
    assert_eq!(
        Op::Conv2d(Conv2d::new(192, 32, 5, 1, 2)).macs(out),
        120_422_400
    );

    let (mut b, x) = GraphBuilder::new("bottleneck", 192, 28, 28, 0);
    let r = b.conv("reduce", x, 192, 16, 1, 1, 0, Activation::Relu);
    let y = b.conv("conv5x5", r, 16, 32, 5, 1, 2, Activation::Relu);
    let reduced = b.finish(&[y]).unwrap();
    let rows = infer::summary(&reduced).unwrap();
    assert_eq!((rows[0].macs, rows[1].macs), (2_408_448, 10_035_200));
    assert_eq!(total_macs(&reduced), 12_443_648);
    assert_eq!(rows[1].output, out);
}

#[test]
fn unknown_network_is_an_error() {
    assert!(matches!(
        models::build("vgg17", &ModelOptions::default()),
        Err(Error::Invalid(_))
    ));
}
