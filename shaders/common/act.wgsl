// The fused activation, shared by every shader that applies one (the shader! macro appends
// it). ACT is Activation::code, a pipeline constant: a switch on a uniform would run every
// case, masked, for every output on llvmpipe (tanh and exp included).

override ACT: u32 = 0u;

// NaN passes through as in PyTorch (max(v, 0) and clamp would replace it on llvmpipe). tanh's
// argument is limited to ±20 (tanh is ±1 in f32 from about ±9), so that an implementation
// computing it from exp(2v) cannot overflow to inf / inf = NaN.
fn act(v: f32) -> f32 {
    switch ACT {
        case 1u: { return select(v, 0.0, v < 0.0); }
        case 2u: { return tanh(select(select(v, -20.0, v < -20.0), 20.0, v > 20.0)); }
        case 3u: { return 1.0 / (1.0 + exp(-v)); }
        default: { return v; }
    }
}

// act on each of 4 values.
fn act4(v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(act(v.x), act(v.y), act(v.z), act(v.w));
}
