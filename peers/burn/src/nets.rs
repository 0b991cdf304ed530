//! torchvision's ResNet-18/50, VGG-16, AlexNet and GoogLeNet built from Burn's layers (random
//! weights; the architecture, not the values, sets the time), as a list of steps and a head.
//! "vgg16-convs" and "alexnet-convs" stop before the classifier, the part
//! that Burn can run on llvmpipe (it cannot allocate their first fully connected weights). The convolutions of `deeper bench --layers` (same names) are single layers:
//! convolution with bias, then ReLU.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

fn conv(cin: usize, cout: usize, k: usize, s: usize, p: usize, bias: bool, d: &Device) -> Conv2d {
    Conv2dConfig::new([cin, cout], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(bias)
        .init(d)
}

/// Max pooling; `ceil` rounds the output size up (GoogLeNet's pools).
fn max_pool(k: usize, s: usize, p: usize, ceil: bool) -> MaxPool2d {
    MaxPool2dConfig::new([k, k])
        .with_strides([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_ceil_mode(ceil)
        .init()
}

/// Convolution without bias, then batch norm.
pub struct ConvBn(Conv2d, BatchNorm);

impl ConvBn {
    fn new(cin: usize, cout: usize, k: usize, s: usize, p: usize, d: &Device) -> Self {
        ConvBn(
            conv(cin, cout, k, s, p, false, d),
            BatchNormConfig::new(cout).init(d),
        )
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.1.forward(self.0.forward(x))
    }
}

/// A residual block: BasicBlock (two 3×3) or Bottleneck (1×1, 3×3, 1×1), plus the projection
/// shortcut where the shape changes.
pub struct Block {
    convs: Vec<ConvBn>,
    down: Option<ConvBn>,
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let skip = match &self.down {
            Some(d) => d.forward(x.clone()),
            None => x.clone(),
        };
        let mut y = x;
        for (i, c) in self.convs.iter().enumerate() {
            y = c.forward(y);
            if i + 1 < self.convs.len() {
                y = relu(y);
            }
        }
        relu(y + skip)
    }
}

/// An inception module (torchvision's: the "5×5" branch is a 3×3): four branches of steps,
/// concatenated along channels.
pub struct Inception([Vec<Step>; 4]);

/// One step of a network.
pub enum Step {
    /// Convolution with bias, then ReLU.
    Conv(Conv2d),
    /// Convolution, batch norm, ReLU.
    ConvBn(ConvBn),
    Pool(MaxPool2d),
    Residual(Block),
    Inception(Inception),
}

impl Step {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Step::Conv(c) => relu(c.forward(x)),
            Step::ConvBn(c) => relu(c.forward(x)),
            Step::Pool(p) => p.forward(x),
            Step::Residual(b) => b.forward(x),
            Step::Inception(Inception(branches)) => {
                Tensor::cat(branches.iter().map(|b| run(b, x.clone())).collect(), 1)
            }
        }
    }
}

fn run(steps: &[Step], x: Tensor<4>) -> Tensor<4> {
    steps.iter().fold(x, |y, s| s.forward(y))
}

/// A network or a single layer: steps, then (for networks) pooling and fully connected layers
/// with ReLU between them.
pub struct Model {
    steps: Vec<Step>,
    head: Option<(AdaptiveAvgPool2d, Vec<Linear>)>,
    /// The input shape: the layer's, or an image at 224×224.
    pub input: [usize; 4],
    /// Multiply-adds of a single layer (None for networks).
    pub macs: Option<f64>,
}

/// deeper's layer-suite convolutions: name, C_in, C_out, kernel, stride, padding, input size.
const LAYERS: [(&str, usize, usize, usize, usize, usize, usize); 5] = [
    ("alexnet.conv1", 3, 64, 11, 4, 2, 224),
    ("vgg.conv3", 256, 256, 3, 1, 1, 56),
    ("resnet50.1x1", 256, 64, 1, 1, 0, 56),
    ("resnet50.3x3", 64, 64, 3, 1, 1, 56),
    ("inception.5x5", 192, 32, 5, 1, 2, 28),
];

impl Model {
    pub fn build(name: &str, d: &Device) -> Option<Model> {
        let net = |steps, head| Model {
            steps,
            head,
            input: [1, 3, 224, 224],
            macs: None,
        };
        match name {
            "resnet18" => Some(net(
                resnet(&[2, 2, 2, 2], false, d),
                head(1, &[512, 1000], d),
            )),
            "resnet50" => Some(net(
                resnet(&[3, 4, 6, 3], true, d),
                head(1, &[2048, 1000], d),
            )),
            "vgg16" => Some(net(vgg16(d), head(7, &[25088, 4096, 4096, 1000], d))),
            "vgg16-convs" => Some(net(vgg16(d), None)),
            "alexnet" => Some(net(alexnet(d), head(6, &[9216, 4096, 4096, 1000], d))),
            "alexnet-convs" => Some(net(alexnet(d), None)),
            "googlenet" => Some(net(googlenet(d), head(1, &[1024, 1000], d))),
            _ => LAYERS
                .iter()
                .find(|l| l.0 == name)
                .map(|&(_, ci, co, k, s, p, hw)| {
                    let out = (hw + 2 * p - k) / s + 1;
                    Model {
                        steps: vec![Step::Conv(conv(ci, co, k, s, p, true, d))],
                        head: None,
                        input: [1, ci, hw, hw],
                        macs: Some((out * out * co * ci * k * k) as f64),
                    }
                }),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let y = run(&self.steps, x);
        let Some((gap, fcs)) = &self.head else {
            return y.flatten(1, 3);
        };
        let mut z = gap.forward(y).flatten(1, 3);
        for (i, fc) in fcs.iter().enumerate() {
            z = fc.forward(z);
            if i + 1 < fcs.len() {
                z = relu(z);
            }
        }
        z
    }
}

/// Adaptive average pooling to `size`×`size`, then fully connected layers of these widths.
fn head(size: usize, widths: &[usize], d: &Device) -> Option<(AdaptiveAvgPool2d, Vec<Linear>)> {
    let fcs = widths
        .windows(2)
        .map(|w| LinearConfig::new(w[0], w[1]).init(d))
        .collect();
    Some((AdaptiveAvgPool2dConfig::new([size, size]).init(), fcs))
}

fn resnet(depths: &[usize], bottleneck: bool, d: &Device) -> Vec<Step> {
    let expansion = if bottleneck { 4 } else { 1 };
    let mut steps = vec![
        Step::ConvBn(ConvBn::new(3, 64, 7, 2, 3, d)),
        Step::Pool(max_pool(3, 2, 1, false)),
    ];
    let mut cin = 64;
    for (stage, &n) in depths.iter().enumerate() {
        let width = 64 << stage;
        for i in 0..n {
            let s = if i == 0 && stage > 0 { 2 } else { 1 };
            let cout = width * expansion;
            let convs = if bottleneck {
                vec![
                    ConvBn::new(cin, width, 1, 1, 0, d),
                    ConvBn::new(width, width, 3, s, 1, d),
                    ConvBn::new(width, cout, 1, 1, 0, d),
                ]
            } else {
                vec![
                    ConvBn::new(cin, width, 3, s, 1, d),
                    ConvBn::new(width, width, 3, 1, 1, d),
                ]
            };
            let down = (s != 1 || cin != cout).then(|| ConvBn::new(cin, cout, 1, s, 0, d));
            steps.push(Step::Residual(Block { convs, down }));
            cin = cout;
        }
    }
    steps
}

fn vgg16(d: &Device) -> Vec<Step> {
    const CFG: [usize; 18] = [
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    let mut cin = 3;
    CFG.iter()
        .map(|&c| match c {
            0 => Step::Pool(max_pool(2, 2, 0, false)),
            _ => {
                let step = Step::Conv(conv(cin, c, 3, 1, 1, true, d));
                cin = c;
                step
            }
        })
        .collect()
}

fn alexnet(d: &Device) -> Vec<Step> {
    let pool = || Step::Pool(max_pool(3, 2, 0, false));
    vec![
        Step::Conv(conv(3, 64, 11, 4, 2, true, d)),
        pool(),
        Step::Conv(conv(64, 192, 5, 1, 2, true, d)),
        pool(),
        Step::Conv(conv(192, 384, 3, 1, 1, true, d)),
        Step::Conv(conv(384, 256, 3, 1, 1, true, d)),
        Step::Conv(conv(256, 256, 3, 1, 1, true, d)),
        pool(),
    ]
}

/// torchvision's GoogLeNet (BasicConv2d = conv, batch norm, ReLU; pools with ceil_mode).
fn googlenet(d: &Device) -> Vec<Step> {
    let bc = |ci, co, k, s, p| Step::ConvBn(ConvBn::new(ci, co, k, s, p, d));
    let pool = |k, s| Step::Pool(max_pool(k, s, 0, true));
    let inception = |ci, c1, c3r, c3, c5r, c5, pp| {
        Step::Inception(Inception([
            vec![bc(ci, c1, 1, 1, 0)],
            vec![bc(ci, c3r, 1, 1, 0), bc(c3r, c3, 3, 1, 1)],
            vec![bc(ci, c5r, 1, 1, 0), bc(c5r, c5, 3, 1, 1)],
            vec![Step::Pool(max_pool(3, 1, 1, true)), bc(ci, pp, 1, 1, 0)],
        ]))
    };
    vec![
        bc(3, 64, 7, 2, 3),
        pool(3, 2),
        bc(64, 64, 1, 1, 0),
        bc(64, 192, 3, 1, 1),
        pool(3, 2),
        inception(192, 64, 96, 128, 16, 32, 32),
        inception(256, 128, 128, 192, 32, 96, 64),
        pool(3, 2),
        inception(480, 192, 96, 208, 16, 48, 64),
        inception(512, 160, 112, 224, 24, 64, 64),
        inception(512, 128, 128, 256, 24, 64, 64),
        inception(512, 112, 144, 288, 32, 64, 64),
        inception(528, 256, 160, 320, 32, 128, 128),
        pool(2, 2),
        inception(832, 256, 160, 320, 32, 128, 128),
        inception(832, 384, 192, 384, 48, 128, 128),
    ]
}
