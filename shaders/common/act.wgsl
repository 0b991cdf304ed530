// The fused activation, shared by every shader that applies one (the shader! macro appends
// it). ACT is Activation::code, a pipeline constant: a switch on a uniform would run every
// case, masked, for every output on llvmpipe (tanh and exp included).
//
// NaN in, NaN out, as in PyTorch, on every driver. A GPU compiler may assume that floats are
// never NaN (Vulkan lets it unless a shader asks for NaN preservation, which WGSL cannot): the
// NVIDIA compiler turned `select(v, 0.0, v < 0.0)` into a maximum that gives 0 for NaN. So the
// decisions here are made on the bits, with integer comparisons that no float optimisation may
// change, and every activation hands a NaN input back unchanged. The cost is a few integer
// operations per output, in the epilogue only, never in a product loop.
//
// tanh's argument is limited to ±20 (tanh is ±1 in f32 from about ±9), so that an
// implementation computing it from exp(2v) cannot overflow to inf / inf = NaN.

override ACT: u32 = 0u;

// Whether v is NaN: exponent all ones and a non-zero mantissa.
fn act_is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn act(v: f32) -> f32 {
    let bits = bitcast<u32>(v);
    switch ACT {
        // Negative and not NaN (−0 itself is left as is): sign bit set, at most −∞'s bits.
        case 1u: { return select(v, 0.0, bits > 0x80000000u && bits <= 0xff800000u); }
        case 2u: {
            let t = tanh(select(select(v, -20.0, v < -20.0), 20.0, v > 20.0));
            return select(t, v, act_is_nan(v));
        }
        case 3u: { return select(1.0 / (1.0 + exp(-v)), v, act_is_nan(v)); }
        default: { return v; }
    }
}

// act on each of 4 values.
fn act4(v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(act(v.x), act(v.y), act(v.z), act(v.w));
}
