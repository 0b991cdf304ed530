// The geometry of a convolution's im2col rows (Im2colUniform in src/ops/conv2d_mm.rs), shared
// by im2col.wgsl and the conv2d_subgroup_window shaders (the shader! macro appends it): input
// size, output width, window, stride, padding and dilation, the group, and the columns taken.

struct Window {
    cin: u32, h: u32, w: u32, ow: u32,
    kh: u32, kw: u32, sh: u32, sw: u32,
    ph: u32, pw: u32, dh: u32, dw: u32,
    cin_per_group: u32, n: u32, g: u32, p0: u32,
    cols: u32, kdim: u32, pixels: u32, _pad0: u32,
}
