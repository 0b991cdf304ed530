// winograd_output: the output transform of Winograd F(M×M, r×r) with 6x6 tiles (M = 4 for
// 3x3 filters, 2 for 5x5) for a chunk of the batch's tiles (tile t is tile t % tiles of image
// t / tiles), with the convolution's epilogue. M (36 matrices [ξ][cout][tc], the products of
// the transformed weights and inputs) gives every tile's M×M outputs as
//   Y = Aᵀ M A,   Aᵀ[i] = [1 if i = 0 else 0, 1, (−1)^i, (½)^i, (−2)^i, 1 if i = M−1 else 0]
// (rows i < M; interpolation points 0, 1, −1, ½, −2, ∞), then out = act(Y + bias + residual), for
// outputs inside the image. An invocation does one output channel and 4 tiles (every value
// below is a vec4 over the 4 tiles).
//
// The uniform, the transform and the invocation's work are in
// shaders/common/winograd_output.wgsl, shared with winograd_output_v4.wgsl.
//
// Bindings: 0 m: scratch [36][cout][tc] (vec4) · 1 bias [cout] · 2 residual [N, res_c, OH, OW]
//           3 out [N, out_c_total, OH, OW] · 4 params
// Grid: ceil(cout · tc/4 / 64) workgroups, folded to 2-D by the runtime.

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

@group(0) @binding(2) var<storage, read> residual: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Writes output (oy, ox) with the epilogue, if it lies inside the image.
fn emit(e: Epilogue, oy: u32, ox: u32, v: f32) {
    if (oy >= e.oh || ox >= e.ow) { return; }
    let pix = oy * e.ow + ox;
    var o = v + e.bias;
    if (e.residual) { o += residual[e.res_base + pix]; }
    out[e.out_base + pix] = act(o);
}

// Writes outputs (oy, ox .. ox+M−1) from v.
fn emit_row(e: Epilogue, oy: u32, ox: u32, v: vec4<f32>) {
    emit(e, oy, ox, v.x);
    emit(e, oy, ox + 1u, v.y);
    if (M == 4u) {
        emit(e, oy, ox + 2u, v.z);
        emit(e, oy, ox + 3u, v.w);
    }
}

// Writes tile t's M×M outputs (row r of the tile in y[r]), if the tile exists; `e` holds
// image 0's bases.
fn emit_tile(e: Epilogue, g: Tiles, t: u32, y: mat4x4<f32>) {
    if (t >= g.total) { return; }
    let n = t / g.count;
    let tl = t % g.count;
    var en = e;
    en.out_base += n * g.out_image;
    en.res_base += n * g.res_image;
    let oy = tl / g.per_row * M;
    let ox = tl % g.per_row * M;
    emit_row(en, oy, ox, y[0]);
    emit_row(en, oy + 1u, ox, y[1]);
    if (M == 4u) {
        emit_row(en, oy + 2u, ox, y[2]);
        emit_row(en, oy + 3u, ox, y[3]);
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    output_transform((wid.x + wid.y * nwg.x) * 64u + lid);
}
