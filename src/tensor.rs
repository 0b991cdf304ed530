//! Host tensors: a [`Shape`] and its f32 values in C order. The CPU reference and every
//! upload/readback use this one type. [`Rng`] makes seeded random data for tests and weights.

use crate::error::{Error, Result};
use crate::shape::Shape;
use rayon::prelude::*;

/// Values per parallel chunk of a random tensor.
const RANDOM_CHUNK: usize = 1 << 16;

/// An f32 tensor on the host. The fields are public, so a tensor built without
/// [`Tensor::new`] can hold a wrong number of values: every boundary that takes one (a model's
/// run, [`crate::runtime::run_op`], [`crate::cpu::run`], the C ABI) refuses it with
/// [`Tensor::check`].
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Shape,
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor from values; errors when the length does not match the shape.
    pub fn new(shape: Shape, data: Vec<f32>) -> Result<Self> {
        if data.len() != shape.numel() {
            return Err(Error::Invalid(format!(
                "tensor of shape {shape} needs {} values, got {}",
                shape.numel(),
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// Refuses a tensor whose values do not fill its shape exactly, naming it `what` and
    /// both sizes.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.data.len() != self.shape.numel() {
            return Err(Error::Invalid(format!(
                "{what}: a tensor of shape {} needs {} values, it holds {}",
                self.shape,
                self.shape.numel(),
                self.data.len()
            )));
        }
        Ok(())
    }

    /// All zeros.
    pub fn zeros(shape: Shape) -> Self {
        Tensor {
            shape,
            data: vec![0.0; shape.numel()],
        }
    }

    /// Uniform random values in `[lo, hi)`.
    pub fn uniform(shape: Shape, lo: f32, hi: f32, rng: &mut Rng) -> Self {
        Self::random(shape, rng, 1, |r| r.uniform(lo, hi))
    }

    /// Normal random values with standard deviation `std`.
    pub fn normal(shape: Shape, std: f32, rng: &mut Rng) -> Self {
        Self::random(shape, rng, 2, |r| r.normal() * std)
    }

    /// Values `draw(rng)`, each taking `draws` steps of `rng`, generated in parallel chunks
    /// (the generator jumps to each chunk's start), so the values are exactly those of one
    /// sequential pass, and `rng` ends where that pass would leave it. The VGGs' 140M random
    /// weights took 3.8 s in one thread.
    fn random(
        shape: Shape,
        rng: &mut Rng,
        draws: u64,
        draw: impl Fn(&mut Rng) -> f32 + Sync,
    ) -> Self {
        let mut data = vec![0.0; shape.numel()];
        let start = rng.clone();
        data.par_chunks_mut(RANDOM_CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut r = start.clone();
                r.skip(draws * (i * RANDOM_CHUNK) as u64);
                chunk.iter_mut().for_each(|v| *v = draw(&mut r));
            });
        rng.skip(draws * data.len() as u64);
        Tensor { shape, data }
    }

    /// Value at `(n, c, h, w)`.
    pub fn at(&self, n: usize, c: usize, h: usize, w: usize) -> f32 {
        self.data[self.shape.index(n, c, h, w)]
    }

    /// The same values viewed with another shape of equal size (flatten is this).
    pub fn reshaped(mut self, shape: Shape) -> Result<Self> {
        if shape.numel() != self.shape.numel() {
            return Err(Error::Invalid(format!(
                "cannot view {} as {shape}",
                self.shape
            )));
        }
        self.shape = shape;
        Ok(self)
    }
}

/// SplitMix64's increment: the state after n steps is `seed + n·GOLDEN`.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A small, seeded, reproducible generator (SplitMix64). Not for cryptography.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed; equal seeds give equal streams.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Advances the generator by `n` steps of [`Rng::next_u64`] at once.
    pub fn skip(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n.wrapping_mul(GOLDEN));
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 24 random bits.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel chunks give exactly the sequential stream, and leave the generator where
    /// the sequential pass would.
    #[test]
    fn random_tensors_are_the_sequential_stream() {
        let shape = Shape::vector(2 * RANDOM_CHUNK + 123);
        let (mut par, mut seq) = (Rng::new(7), Rng::new(7));
        let n = Tensor::normal(shape, 0.5, &mut par);
        let u = Tensor::uniform(shape, -2.0, 3.0, &mut par);
        let want_n: Vec<f32> = (0..shape.numel()).map(|_| seq.normal() * 0.5).collect();
        let want_u: Vec<f32> = (0..shape.numel()).map(|_| seq.uniform(-2.0, 3.0)).collect();
        assert_eq!(n.data, want_n);
        assert_eq!(u.data, want_u);
        assert_eq!(par.next_u64(), seq.next_u64());
    }
}
