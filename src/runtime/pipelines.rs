//! The pipeline cache: one compute pipeline per (shader, override constants), created on first
//! use with an explicit bind-group layout (storage bindings read-only except the last, which is
//! the output, then the uniform), so bindings a variant does not read stay valid.

use crate::ops::Shader;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Key = (&'static str, Vec<(&'static str, u32)>);

/// A pipeline and the layout its bind groups must use.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// Pipelines by shader name and overrides.
#[derive(Default)]
pub struct PipelineCache {
    map: Mutex<HashMap<Key, Arc<Pipeline>>>,
}

fn layout_entries(storage: u32) -> Vec<wgpu::BindGroupLayoutEntry> {
    let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let mut v: Vec<_> = (0..storage)
        .map(|b| {
            let read_only = b + 1 < storage;
            entry(b, wgpu::BufferBindingType::Storage { read_only })
        })
        .collect();
    v.push(entry(storage, wgpu::BufferBindingType::Uniform));
    v
}

impl PipelineCache {
    /// The pipeline for `shader` with `overrides`, compiled on first request.
    pub fn get(
        &self,
        device: &wgpu::Device,
        shader: &'static Shader,
        overrides: &[(&'static str, u32)],
    ) -> Arc<Pipeline> {
        let key = (shader.name, overrides.to_vec());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key)
            .or_insert_with(|| Arc::new(create(device, shader, overrides)))
            .clone()
    }
}

fn create(device: &wgpu::Device, shader: &Shader, overrides: &[(&str, u32)]) -> Pipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(shader.name),
        source: wgpu::ShaderSource::Wgsl(shader.source.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(shader.name),
        entries: &layout_entries(shader.storage_bindings),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(shader.name),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let constants: Vec<(&str, f64)> = overrides.iter().map(|(k, v)| (*k, *v as f64)).collect();
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(shader.name),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &constants,
            ..Default::default()
        },
        cache: None,
    });
    Pipeline { pipeline, layout }
}
