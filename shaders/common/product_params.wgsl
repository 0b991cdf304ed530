// The uniform of a convolution's matrix product (MmUniform in src/ops/conv2d_mm.rs), shared by
// conv2d_mm.wgsl and the conv2d_subgroup family (the shader! macro appends it): the product's
// rows (output channels) and reduction length, its columns (pixels of one or more images),
// where B starts and how it is laid out, and the fused epilogue's flags and output placement.

struct Product {
    rows: u32, kdim: u32, cols: u32, b_base: u32,
    b_stride4: u32, w_block0: u32, oc_base: u32, row_base: u32,
    n: u32, p0: u32, pixels: u32, has_bias: u32,
    has_residual: u32, res_c: u32, out_c_total: u32, out_c_offset: u32,
    b_col_major: u32, groups: u32, b_image4: u32, _pad3: u32,
}
