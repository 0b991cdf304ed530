// winograd_input: the input transform of Winograd F(2x2, 3x3) for one image and a chunk of
// tiles. Tile t covers outputs (2·ty .. 2·ty+1, 2·tx .. 2·tx+1) and reads the 4x4 input patch d
// whose top-left is (2·ty − pt, 2·tx − pl), zero outside the image. For every input channel
//   V = Bᵀ d B,   Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]],
// and V's 16 entries (ξ = 4·row + column) become 16 matrices in conv2d_subgroup's
// column-major B layout: matrix ξ starts at vec4 ξ·(tc/4)·cin, element (ci, t) is lane t % 4
// of vec4 (t/4)·cin + ci. An invocation does one channel and 4 tiles (one vec4 per ξ); tiles
// past the last are zero.
//
// Bindings: 0 x [N, cin, H, W] · 1 out: scratch (vec4) · 2 params
// Grid: ceil(cin · tc/4 / 64) workgroups, folded to 2-D by the runtime.

struct Params {
    cin: u32, h: u32, w: u32, tw: u32,
    tiles: u32, t0: u32, tc: u32, n: u32,
    pt: u32, pl: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Four neighbouring values of row iy from column ix of a plane (zero outside it).
fn row4(plane: u32, iy: i32, ix: i32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (iy < 0 || iy >= i32(p.h)) { return v; }
    for (var c = 0; c < 4; c++) {
        let xx = ix + c;
        if (xx >= 0 && xx < i32(p.w)) { v[c] = x[plane + u32(iy) * p.w + u32(xx)]; }
    }
    return v;
}

// The rows of Bᵀ d B for tile t of a plane (zero for tiles past the last).
fn tile(plane: u32, t: u32) -> mat4x4<f32> {
    if (t >= p.tiles) { return mat4x4<f32>(); }
    let iy = i32(t / p.tw * 2u) - i32(p.pt);
    let ix = i32(t % p.tw * 2u) - i32(p.pl);
    let d0 = row4(plane, iy, ix);
    let d1 = row4(plane, iy + 1, ix);
    let d2 = row4(plane, iy + 2, ix);
    let d3 = row4(plane, iy + 3, ix);
    let r = mat4x4<f32>(d0 - d2, d1 + d2, d2 - d1, d1 - d3);  // Bᵀ d, by rows
    var v: mat4x4<f32>;
    for (var i = 0; i < 4; i++) {
        let q = r[i];
        v[i] = vec4<f32>(q.x - q.z, q.y + q.z, q.z - q.y, q.y - q.w);  // (Bᵀ d) B, row i
    }
    return v;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * nwg.x) * 64u + lid;
    let quads = p.tc / 4u;
    if (i >= p.cin * quads) { return; }
    let ci = i % p.cin;
    let t4 = i / p.cin;
    let plane = (p.n * p.cin + ci) * p.h * p.w;
    let t = p.t0 + t4 * 4u;
    let a = tile(plane, t);
    let b = tile(plane, t + 1u);
    let c = tile(plane, t + 2u);
    let d = tile(plane, t + 3u);
    let stride = quads * p.cin;
    let at = t4 * p.cin + ci;
    for (var r = 0u; r < 4u; r++) {
        // Column j of the transpose holds entry (r, j) of the 4 tiles.
        let m = transpose(mat4x4<f32>(a[r], b[r], c[r], d[r]));
        for (var j = 0u; j < 4u; j++) {
            out[(r * 4u + j) * stride + at] = m[j];
        }
    }
}
