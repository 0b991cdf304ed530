// conv2d_subgroup: convolution as a matrix product on one image and one group, with
// the weights shared through subgroup broadcasts (the register block and its epilogue:
// shaders/common/subgroup_block.wgsl).
// B from a matrix (1x1 stride-1 inputs, Winograd's scratch); output pixel by pixel.
// Parts (appended by the shader! macro): subgroup_block, act, product_params, subgroup_matrix,
// subgroup_store.
// Bindings: 0 B · 1 weight · 2 bias · 3 residual · 4 out · 5 params (see the parts).

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) sl: u32) {
    matrix_product(wid.x + wid.y * nwg.x, lid, sl);
}
