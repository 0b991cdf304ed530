//! torchvision's ResNet-18/50 and VGG-16 built from Burn's layers (random weights; the
//! architecture, not the values, sets the time). "vgg16-convs" stops before the classifier,
//! the part of VGG-16 that Burn can run on llvmpipe. The convolutions of `deeper bench
//! --layers` (same names) are single layers: convolution with bias, then ReLU.

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

fn max_pool(k: usize, s: usize, p: usize) -> MaxPool2d {
    MaxPool2dConfig::new([k, k])
        .with_strides([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
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

pub enum Model {
    ResNet {
        stem: Box<ConvBn>,
        pool: MaxPool2d,
        blocks: Vec<Block>,
        gap: AdaptiveAvgPool2d,
        fc: Box<Linear>,
    },
    Vgg {
        layers: Vec<Option<Conv2d>>,
        pool: MaxPool2d,
        classifier: Option<(AdaptiveAvgPool2d, Vec<Linear>)>,
    },
    Layer {
        conv: Conv2d,
        input: [usize; 4],
        macs: f64,
    },
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
        match name {
            "resnet18" => Some(resnet(&[2, 2, 2, 2], false, d)),
            "resnet50" => Some(resnet(&[3, 4, 6, 3], true, d)),
            "vgg16" => Some(vgg16(true, d)),
            "vgg16-convs" => Some(vgg16(false, d)),
            _ => LAYERS
                .iter()
                .find(|l| l.0 == name)
                .map(|&(_, ci, co, k, s, p, hw)| {
                    let out = (hw + 2 * p - k) / s + 1;
                    Model::Layer {
                        conv: conv(ci, co, k, s, p, true, d),
                        input: [1, ci, hw, hw],
                        macs: (out * out * co * ci * k * k) as f64,
                    }
                }),
        }
    }

    /// The input shape: the layer's, or an image at 224×224.
    pub fn input_shape(&self) -> [usize; 4] {
        match self {
            Model::Layer { input, .. } => *input,
            _ => [1, 3, 224, 224],
        }
    }

    /// Multiply-adds of a single layer (None for networks).
    pub fn layer_macs(&self) -> Option<f64> {
        match self {
            Model::Layer { macs, .. } => Some(*macs),
            _ => None,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Model::ResNet {
                stem,
                pool,
                blocks,
                gap,
                fc,
            } => {
                let mut y = pool.forward(relu(stem.forward(x)));
                for b in blocks {
                    y = b.forward(y);
                }
                fc.forward(gap.forward(y).flatten(1, 3))
            }
            Model::Layer { conv, .. } => relu(conv.forward(x)).flatten(1, 3),
            Model::Vgg {
                layers,
                pool,
                classifier,
            } => {
                let mut y = x;
                for l in layers {
                    y = match l {
                        Some(c) => relu(c.forward(y)),
                        None => pool.forward(y),
                    };
                }
                match classifier {
                    Some((gap, fcs)) => {
                        let mut z = gap.forward(y).flatten(1, 3);
                        for (i, fc) in fcs.iter().enumerate() {
                            z = fc.forward(z);
                            if i + 1 < fcs.len() {
                                z = relu(z);
                            }
                        }
                        z
                    }
                    None => y.flatten(1, 3),
                }
            }
        }
    }
}

fn resnet(depths: &[usize], bottleneck: bool, d: &Device) -> Model {
    let expansion = if bottleneck { 4 } else { 1 };
    let mut cin = 64;
    let mut blocks = Vec::new();
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
            blocks.push(Block { convs, down });
            cin = cout;
        }
    }
    Model::ResNet {
        stem: Box::new(ConvBn::new(3, 64, 7, 2, 3, d)),
        pool: max_pool(3, 2, 1),
        blocks,
        gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
        fc: Box::new(LinearConfig::new(cin, 1000).init(d)),
    }
}

fn vgg16(classifier: bool, d: &Device) -> Model {
    const CFG: [usize; 18] = [
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    let mut cin = 3;
    let layers = CFG
        .iter()
        .map(|&c| {
            (c > 0).then(|| {
                let l = conv(cin, c, 3, 1, 1, true, d);
                cin = c;
                l
            })
        })
        .collect();
    let classifier = classifier.then(|| {
        let fcs = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
            .map(|(i, o)| LinearConfig::new(i, o).init(d))
            .to_vec();
        (AdaptiveAvgPool2dConfig::new([7, 7]).init(), fcs)
    });
    Model::Vgg {
        layers,
        pool: max_pool(2, 2, 0),
        classifier,
    }
}
