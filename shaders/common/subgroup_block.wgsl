// Shared by the four conv2d_subgroup*.wgsl variants (the shader! macro appends it): the
// register block of the subgroup-broadcast matrix product
//   out[oc, p] = act(bias[oc] + Σ_k W[oc, k] · B[k, p] + residual[oc, p]).
// An invocation owns 4 pixels (one vec4 column of B) and 32 output channels: 8 mat4x4
// accumulators, column j of a{i} being channel 4·i + j. Per 4 steps of k it takes 4 rows of B
// for its pixels (from a matrix or gathered from the input: the variant's source part) and
// 4 vec4 of weights: lane l of its subgroup loads channel l of each 8-channel group, and every
// channel's 4 weights are then taken from the lane that loaded them with subgroupBroadcast. On
// llvmpipe, where each storage load runs lane by lane, this divides the weight loads by the
// subgroup size (8). Needs subgroups of at least 8 invocations (lanes past 8 load duplicates,
// which is harmless). Accumulators are only ever indexed by constants, so they stay registers.
//
// Bindings declared here: 1 weight [blocks][ceil(K/4)][4 groups][8 lanes] vec4 (k = 4·k4 ..
// 4·k4+3 of channel block·32 + group·8 + lane; zero past K and C_out) · 2 bias [cout]. The
// source part declares binding 0 and the uniform (5), the store part 3 (residual), 4 (out)
// and `emit`; act() and struct Product are the parts act.wgsl and product_params.wgsl.
// Columns: cols/4 vec4 columns of 4 pixels; where cols spans several images (planes of a
// multiple of 4 pixels), image n + q / pixels, pixel q % pixels (B's images b_image4 vec4
// apart). Grid: per group (Product.groups of them: Winograd's 36 products in one dispatch)
// and 32-channel block, ceil(cols/4 / WG) workgroups of WG invocations (whole workgroups
// leave early, so subgroups stay full), folded to 2-D by the runtime.

override WG: u32 = 64u;

@group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;

// The epilogue's uniforms, read once: on llvmpipe each uniform read is a gather, and the
// stores between emits would keep the compiler from reusing them.
struct Epilogue {
    rows: u32, pixels: u32, out_base: u32, res_base: u32, residual: bool,
}

// An invocation's place: block lb (32 channels) of group grp (groups lie side by side in B,
// in the weight blocks and in the output rows), vec4 column col (c0: clamped to the last),
// its lane's first weight, and whether its workgroup has work (whole workgroups leave).
struct Block {
    grp: u32, lb: u32, col: u32, c0: u32, ncol4: u32, kd4: u32, wrow: u32, live: bool,
}

fn block(p: Product, wg: u32, lid: u32, sl: u32) -> Block {
    let ncol4 = p.cols / 4u;
    let per_block = (ncol4 + WG - 1u) / WG;
    let blocks = (p.rows + 31u) / 32u;
    let mb = wg / per_block;
    let col = (wg % per_block) * WG + lid;
    let kd4 = (p.kdim + 3u) / 4u;
    return Block(mb / blocks, mb % blocks, col, min(col, ncol4 - 1u), ncol4, kd4,
                 (p.w_block0 + mb) * kd4 * 32u + sl % 8u, wg < blocks * p.groups * per_block);
}

// The 32 channels × 4 pixels being summed.
struct Acc {
    a0: mat4x4<f32>, a1: mat4x4<f32>, a2: mat4x4<f32>, a3: mat4x4<f32>,
    a4: mat4x4<f32>, a5: mat4x4<f32>, a6: mat4x4<f32>, a7: mat4x4<f32>,
}

// Column j: lane j's vec4 (lanes 0..3), and lane 4 + j's (lanes 4..7).
fn lanes_lo(w: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u),
                       subgroupBroadcast(w, 2u), subgroupBroadcast(w, 3u));
}

fn lanes_hi(w: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u),
                       subgroupBroadcast(w, 6u), subgroupBroadcast(w, 7u));
}

// Steps of 4 k summed into a fresh block before it joins the running sum (CHUNK of them: 32
// terms): a two-level sum whose f32 rounding error grows with CHUNK + K / CHUNK instead of K.
// Winograd's products need it most (the output transform multiplies their errors by up to
// 64); measured on whole networks against float64 (tests/parity.rs).
const CHUNK: u32 = 8u;

fn add(a: Acc, c: Acc) -> Acc {
    return Acc(a.a0 + c.a0, a.a1 + c.a1, a.a2 + c.a2, a.a3 + c.a3,
               a.a4 + c.a4, a.a5 + c.a5, a.a6 + c.a6, a.a7 + c.a7);
}

// Four steps of k: b's column r is row k + r of B for the 4 pixels; the weights of k .. k+3
// start at wi. Column j of b · W is Σ_r B[k + r] · W[channel j, k + r].
fn step(a: Acc, b: mat4x4<f32>, wi: u32) -> Acc {
    let w0 = weight[wi];
    let w1 = weight[wi + 8u];
    let w2 = weight[wi + 16u];
    let w3 = weight[wi + 24u];
    return Acc(a.a0 + b * lanes_lo(w0), a.a1 + b * lanes_hi(w0),
               a.a2 + b * lanes_lo(w1), a.a3 + b * lanes_hi(w1),
               a.a4 + b * lanes_lo(w2), a.a5 + b * lanes_hi(w2),
               a.a6 + b * lanes_lo(w3), a.a7 + b * lanes_hi(w3));
}

// Entry j: lane j's value (lanes 0..3), and lane 4 + j's (lanes 4..7).
fn bias_lo(v: f32) -> vec4<f32> {
    return vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u),
                     subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u));
}

fn bias_hi(v: f32) -> vec4<f32> {
    return vec4<f32>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u),
                     subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}

// Rows row0 .. row0+3 (the columns of a) with their biases bv.
fn emit4(e: Epilogue, row0: u32, q0: u32, a: mat4x4<f32>, bv: vec4<f32>) {
    emit(e, row0, q0, a[0], bv.x);
    emit(e, row0 + 1u, q0, a[1], bv.y);
    emit(e, row0 + 2u, q0, a[2], bv.z);
    emit(e, row0 + 3u, q0, a[3], bv.w);
}

// The epilogue: biases (lane l loads those of rows 8·g + l, the others take them by
// broadcast, before any invocation leaves, so that every lane is there), then the 32 rows of
// the invocation's column.
fn finish(a: Acc, p: Product, k: Block, sl: u32) {
    let r0 = k.lb * 32u;
    let orow = p.oc_base + k.grp * p.rows;
    let has_bias = p.has_bias != 0u;
    let blast = arrayLength(&bias) - 1u;
    let first = p.row_base + k.grp * p.rows + r0 + sl % 8u;
    let g0 = select(0.0, bias[min(first, blast)], has_bias);
    let g1 = select(0.0, bias[min(first + 8u, blast)], has_bias);
    let g2 = select(0.0, bias[min(first + 16u, blast)], has_bias);
    let g3 = select(0.0, bias[min(first + 24u, blast)], has_bias);
    let v0 = bias_lo(g0);
    let v1 = bias_hi(g0);
    let v2 = bias_lo(g1);
    let v3 = bias_hi(g1);
    let v4 = bias_lo(g2);
    let v5 = bias_hi(g2);
    let v6 = bias_lo(g3);
    let v7 = bias_hi(g3);
    if (k.col >= k.ncol4) { return; }
    // Column col: pixels q0.. of image n (images lie side by side).
    let n = p.n + (p.p0 + k.col * 4u) / p.pixels;
    let q0 = (p.p0 + k.col * 4u) % p.pixels;
    let e = Epilogue(p.rows, p.pixels, (n * p.out_c_total + p.out_c_offset + orow) * p.pixels,
                     (n * p.res_c + orow) * p.pixels, p.has_residual != 0u);
    emit4(e, r0, q0, a.a0, v0);
    emit4(e, r0 + 4u, q0, a.a1, v1);
    emit4(e, r0 + 8u, q0, a.a2, v2);
    emit4(e, r0 + 12u, q0, a.a3, v3);
    emit4(e, r0 + 16u, q0, a.a4, v4);
    emit4(e, r0 + 20u, q0, a.a5, v5);
    emit4(e, r0 + 24u, q0, a.a6, v6);
    emit4(e, r0 + 28u, q0, a.a7, v7);
}
