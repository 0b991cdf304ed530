// conv2d_tiled: convolution as an implicit GEMM in workgroup-memory tiles, the standard fast
// shape for discrete GPUs. Per group g:
//   out[oc, q] = Σ_k W[oc, k] · X[k, q],  k = (ci, ky, kx) over cin/groups·KH·KW,
//   q = (n, oy, ox) over N·OH·OW (every image of the batch chunk side by side),
// X gathered from the input on the fly (im2col never stored).
// A workgroup of WG = (BM/TM)·(BN/TN) invocations computes a BM×BN tile (output channels ×
// pixels); each invocation holds TM×TN sums in registers, as TM/4 × TN/4 blocks of 4×4 spread
// BM/(TM/4) rows and BN/(TN/4) columns apart, so that neighbouring invocations read
// neighbouring vec4 of the tiles (no bank conflicts). K is walked BK at a time: the weight
// tile arrives as vec4 (K-major repack, rows padded to 4, K padded to BK with zeros), the
// input tile as gathered scalars; both rows are padded by one vec4 in workgroup memory. The
// next step's loads go out before the current step's products (register prefetch). Each
// step's BK products are summed apart and then added to the running sums (two-level
// accumulation: on deep reductions, e.g. K = 4608, the rounding error grows with K/BK
// additions instead of K; it keeps the BN networks within 1.5x PyTorch's float64 error).
// At most 2 weight vec4 and 8 input values per invocation per step: BK·BM/4 ≤ 2·WG and
// BK·BN ≤ 8·WG for every tile of conv2d_tiled.rs.
//
// Split-K (SPLIT, for outputs too small to fill the GPU: batch 1 on 7×7 planes, FC layers):
// the reduction is cut into `split` slices of `kslice` (a multiple of BK); workgroup
// s·(groups·tiles_m·tiles_n) + t sums slice s of tile t and writes the bare sums to `out`, then
// a scratch buffer laid out [split][groups·cout_g][N·OH·OW]; conv2d_tiled_sum.wgsl adds the
// slices in order and applies the epilogue.
//
// Pipeline constants: BM, BN (≤ 128), TM, TN (4 or 8), WG, KH, KW (the filter: its divisions
// become multiplications), POINTWISE (1x1, stride 1, no padding: X is the input itself),
// W_ROWS (the weight in rows, a fully connected layer's), SPLIT, ACT.
//
// Bindings: 0 x [N, cin, H, W] · 1 weight [groups][kpad][mpad4] vec4 (wt[g][k][oc]), or with
//           W_ROWS [cout][kpad] (PyTorch's linear layout, K padded to BK; one group): such a
//           weight can be split by rows across bindings, one dispatch per chunk
//           2 bias [C_out] · 3 residual [N, C_out, OH, OW]
//           4 out [N, out_c_total, OH, OW] at channel out_c_offset (SPLIT: the partial sums)
//           5 params
// Grid: split · groups · tiles_m · tiles_n workgroups (pixel tiles fastest), folded to 2-D.

// act() and its pipeline constant ACT: shaders/common/act.wgsl (appended by shader!).

override BM: u32 = 128u;
override BN: u32 = 128u;
override TM: u32 = 8u;
override TN: u32 = 8u;
override WG: u32 = 256u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override POINTWISE: bool = false;
override W_ROWS: bool = false;
override SPLIT: bool = false;

const BK: u32 = 16u;
// Row length of both tiles in workgroup memory, in vec4: the largest tile side plus one.
const ROW4: u32 = 33u;

struct Params {
    n: u32, cin: u32, h: u32, w: u32,
    cout_g: u32, cin_g: u32, oh: u32, ow: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    dh: u32, dw: u32, kdim: u32, kpad: u32,
    mpad4: u32, tiles_m: u32, tiles_n: u32, groups: u32,
    has_bias: u32, has_residual: u32, out_c_total: u32, out_c_offset: u32,
    split: u32, kslice: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> a_tile: array<vec4<f32>, 528>; // [BK][ROW4]: weights, 4 channels per vec4
var<workgroup> b_tile: array<vec4<f32>, 528>; // [BK][ROW4]: inputs, 4 pixels per vec4

// The input column an invocation gathers (fixed for the whole K walk).
struct Column {
    ok: bool,
    x_base: u32,
    pix: u32,
    iy0: i32,
    ix0: i32,
}

// This invocation's share of the weight tile at k0: vec4 e = lid + j·WG of [BK][BM/4]
// (4 channels at one k), or with W_ROWS of [BM][BK/4] (4 k of one channel: BK/4
// neighbouring invocations read 64 contiguous bytes of a row).
fn load_a(w_base: u32, m0: u32, k0: u32, lid: u32) -> array<vec4<f32>, 2> {
    var v: array<vec4<f32>, 2>;
    for (var j = 0u; j < 2u; j++) {
        let e = lid + j * WG;
        if (W_ROWS) {
            let m = e / (BK / 4u);
            if (e < BK * BM / 4u && m0 + m < p.cout_g) {
                v[j] = weight[w_base + m * (p.kpad / 4u) + k0 / 4u + e % (BK / 4u)];
            }
        } else {
            let m4 = e % (BM / 4u);
            if (e < BK * BM / 4u && m0 / 4u + m4 < p.mpad4) {
                v[j] = weight[w_base + (k0 + e / (BM / 4u)) * p.mpad4 + m4];
            }
        }
    }
    return v;
}

// Stores load_a's vec4 into the weight tile [BK][ROW4] (channels along the row); W_ROWS's
// vec4 run along K, so they go in as 4 scalars.
fn store_a(ra: array<vec4<f32>, 2>, lid: u32) {
    for (var j = 0u; j < 2u; j++) {
        let e = lid + j * WG;
        if (e >= BK * BM / 4u) { continue; }
        if (W_ROWS) {
            let m = e / (BK / 4u);
            let k = e % (BK / 4u) * 4u;
            for (var i = 0u; i < 4u; i++) { a_tile[(k + i) * ROW4 + m / 4u][m % 4u] = ra[j][i]; }
        } else {
            a_tile[e / (BM / 4u) * ROW4 + e % (BM / 4u)] = ra[j];
        }
    }
}

// This invocation's share of the input tile at k0: rows lid/BN + j·WG/BN of its column,
// zero outside the image and past K.
fn load_b(col: Column, k0: u32, lid: u32) -> array<f32, 8> {
    var v: array<f32, 8>;
    let in_plane = p.h * p.w;
    for (var j = 0u; j < BK * BN / WG; j++) {
        let k = k0 + lid / BN + j * (WG / BN);
        if (col.ok && k < p.kdim) {
            if (POINTWISE) {
                v[j] = x[col.x_base + k * in_plane + col.pix];
            } else {
                let ci = k / (KH * KW);
                let r = k % (KH * KW);
                let iy = col.iy0 + i32(r / KW * p.dh);
                let ix = col.ix0 + i32(r % KW * p.dw);
                if (iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w)) {
                    v[j] = x[col.x_base + ci * in_plane + u32(iy) * p.w + u32(ix)];
                }
            }
        }
    }
    return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let tiles = p.groups * p.tiles_m * p.tiles_n;
    let ts = wid.x + wid.y * nwg.x;
    if (ts >= p.split * tiles) { return; }
    let s = ts / tiles;
    let t = ts % tiles;
    let kb = s * p.kslice;
    let ke = min(kb + p.kslice, p.kpad);
    let tn = t % p.tiles_n;
    let tm = (t / p.tiles_n) % p.tiles_m;
    let g = t / (p.tiles_n * p.tiles_m);
    let m0 = tm * BM;
    let q0 = tn * BN;
    let plane = p.oh * p.ow;
    let qdim = p.n * plane;
    let cols4 = BN / TN;            // invocations along the pixels
    let tx = lid % cols4;
    let ty = lid / cols4;
    let rows4 = BM / TM;            // invocations along the channels

    let c = lid % BN;
    let q = min(q0 + c, qdim - 1u);
    let n = q / plane;
    let pix = q % plane;
    let col = Column(q0 + c < qdim, (n * p.cin + g * p.cin_g) * p.h * p.w, pix,
                     i32(pix / p.ow * p.sh) - i32(p.ph), i32(pix % p.ow * p.sw) - i32(p.pw));
    let w_base = select(g * p.kpad * p.mpad4 + m0 / 4u, m0 * (p.kpad / 4u), W_ROWS);

    // The next tiles' loads are issued before the current tiles' products (their latency
    // hides behind the arithmetic), then stored after the barrier.
    var ra = load_a(w_base, m0, kb, lid);
    var rb = load_b(col, kb, lid);
    var acc: array<vec4<f32>, 16>; // [TM][TN/4], row r at r·2
    for (var k0 = kb; k0 < ke; k0 += BK) {
        store_a(ra, lid);
        for (var j = 0u; j < BK * BN / WG; j++) {
            b_tile[(lid / BN + j * (WG / BN)) * ROW4 + c / 4u][c % 4u] = rb[j];
        }
        workgroupBarrier();
        if (k0 + BK < ke) {
            ra = load_a(w_base, m0, k0 + BK, lid);
            rb = load_b(col, k0 + BK, lid);
        }
        var part: array<vec4<f32>, 16>; // this step's BK products, added to acc at its end
        for (var kk = 0u; kk < BK; kk++) {
            var a: array<vec4<f32>, 2>;
            var b: array<vec4<f32>, 2>;
            for (var i = 0u; i < TM / 4u; i++) { a[i] = a_tile[kk * ROW4 + i * rows4 + ty]; }
            for (var j = 0u; j < TN / 4u; j++) { b[j] = b_tile[kk * ROW4 + j * cols4 + tx]; }
            for (var r = 0u; r < TM; r++) {
                let av = vec4<f32>(a[r / 4u][r % 4u]);
                for (var j = 0u; j < TN / 4u; j++) {
                    part[r * 2u + j] = fma(av, b[j], part[r * 2u + j]);
                }
            }
        }
        for (var r = 0u; r < TM; r++) {
            for (var j = 0u; j < TN / 4u; j++) { acc[r * 2u + j] += part[r * 2u + j]; }
        }
        workgroupBarrier();
    }

    let res_c = p.groups * p.cout_g;
    for (var j = 0u; j < TN / 4u; j++) {
        for (var e = 0u; e < 4u; e++) {
            let qo = q0 + (j * cols4 + tx) * 4u + e;
            if (qo >= qdim) { continue; }
            let no = qo / plane;
            let po = qo % plane;
            for (var r = 0u; r < TM; r++) {
                let m = m0 + ((r / 4u) * rows4 + ty) * 4u + r % 4u;
                if (m >= p.cout_g) { continue; }
                let oc = g * p.cout_g + m;
                var v = acc[r * 2u + j][e];
                if (SPLIT) {
                    out[(s * res_c + oc) * qdim + qo] = v;
                    continue;
                }
                if (p.has_bias != 0u) { v += bias[oc]; }
                if (p.has_residual != 0u) { v += residual[(no * res_c + oc) * plane + po]; }
                out[(no * p.out_c_total + p.out_c_offset + oc) * plane + po] = act(v);
            }
        }
    }
}
