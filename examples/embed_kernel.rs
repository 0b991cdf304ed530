//! One op on your own buffers: a 3×3 convolution with weights you supply, run on the GPU
//! through the same launch path the networks use ([`run_op`]), and checked against the op's
//! CPU reference. This is how to embed a single deeper kernel in another program.
//!
//! `cargo run --release --example embed_kernel`

use deeper::compare::{compare, OP_TOLERANCE};
use deeper::ops::{Conv2d, Op};
use deeper::runtime::{run_op, Gpu, GpuOptions};
use deeper::{Error, Result, Shape, Tensor};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let gpu = Gpu::new(&GpuOptions::from_env()?)?;
    // Your data: one 2-channel 6×6 image, 4 filters of 2×3×3, a bias per filter.
    let x = Tensor::new(
        Shape::new(1, 2, 6, 6),
        (0..72).map(|i| (i % 7) as f32 - 3.0).collect(),
    )?;
    let w = Tensor::new(
        Shape::new(4, 2, 3, 3),
        (0..72)
            .map(|i| ((i * 5) % 11) as f32 / 10.0 - 0.5)
            .collect(),
    )?;
    let bias = Tensor::new(Shape::vector(4), vec![0.0, 0.5, -0.5, 1.0])?;
    // Conv2d(2, 4, kernel_size=3, stride=1, padding=1), PyTorch's parameters and key order.
    let op = Op::Conv2d(Conv2d::new(2, 4, 3, 1, 1));
    let params = [w, bias];
    let y = run_op(&gpu, &op, "my_conv", &[&x], &params)?;
    let want = op.cpu(&[&x], &params, y.shape);
    let cmp = compare(&y, &want, OP_TOLERANCE);
    println!("conv 2→4, 3×3, pad 1 on {}", gpu.description());
    println!("output {} · GPU vs CPU: {cmp}", y.shape);
    println!("first row of filter 0: {:?}", &y.data[..6]);
    if !cmp.passed() {
        return Err(Error::Invalid(
            "the GPU result does not match the CPU".into(),
        ));
    }
    Ok(())
}
