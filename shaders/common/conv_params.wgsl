// The uniform (ConvUniform in src/ops/conv2d_direct.rs) and the bindings of conv2d_direct.wgsl
// (appended by the shader! macro): the input and output geometry, the window, the chunk of
// output channels this dispatch computes, and the fused epilogue's flags and output placement.

struct Params {
    n: u32, cin: u32, h: u32, w: u32,
    cout: u32, oc_base: u32, cout_per_group: u32, cin_per_group: u32,
    oh: u32, ow: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    dh: u32, dw: u32, has_bias: u32, has_residual: u32,
    res_c: u32, out_c_total: u32, out_c_offset: u32, _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
