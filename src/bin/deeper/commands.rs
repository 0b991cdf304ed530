//! The subcommands: each builds what it needs through the library and prints a table (or JSON).
//! Return `Ok(false)` for "ran, but a check failed" (exit status 1).

use crate::table::{shape, thousands, Table};
use deeper::bench::tuning::Tuning;
use deeper::check::{check_layers, check_network, input_fits, random_input};
use deeper::graph::infer;
use deeper::models::{self, ModelOptions, NETWORKS};
use deeper::runtime::{list_adapters, Gpu, GpuOptions};
use deeper::Result;
use std::io::Write;

fn open_gpu() -> Result<Gpu> {
    Gpu::new(&GpuOptions::from_env()?)
}

/// `deeper devices`.
pub fn devices() -> Result<bool> {
    let list = list_adapters(&GpuOptions::from_env()?)?;
    if list.is_empty() {
        println!("no GPU adapter found (install a Vulkan driver, e.g. mesa-vulkan-drivers)");
        return Ok(false);
    }
    for (i, a) in list.iter().enumerate() {
        let l = &a.limits;
        println!(
            "[{i}] {} — {} {} ({} {})",
            a.name, a.backend, a.device_type, a.driver, a.driver_info
        );
        println!(
            "    max_storage_buffer_binding_size  {}",
            thousands(l.max_storage_buffer_binding_size)
        );
        println!(
            "    max_buffer_size                  {}",
            thousands(l.max_buffer_size)
        );
        println!(
            "    max_compute_workgroup_storage    {}",
            thousands(l.max_compute_workgroup_storage_size as u64)
        );
        println!(
            "    max_compute_invocations/group    {}",
            l.max_compute_invocations_per_workgroup
        );
        println!(
            "    max_compute_workgroups/dimension {}",
            thousands(l.max_compute_workgroups_per_dimension as u64)
        );
        let need = deeper::ops::MIN_SUBGROUP_SIZE;
        let sg = match a.subgroup_sizes {
            Some((lo, hi)) if lo >= need => format!("{lo}..{hi} (subgroup kernels: yes)"),
            Some((lo, hi)) => format!("{lo}..{hi} (subgroup kernels: no, they need {need})"),
            None => "none (subgroup kernels: no)".into(),
        };
        println!("    subgroup sizes                   {sg}");
        println!(
            "    timestamp queries                {}",
            if a.timestamps {
                "yes (per-layer GPU time)"
            } else {
                "no (per-layer wall clock)"
            }
        );
        print!(
            "{}",
            wrapped("    features                         ", &a.features, 100)
        );
    }
    Ok(true)
}

/// `deeper info <net> [--json]`.
pub fn info(net: &str, opts: &ModelOptions, json: bool) -> Result<bool> {
    let graph = models::build(net, opts)?;
    let layers = infer::summary(&graph)?;
    let params: u64 = layers.iter().map(|l| l.params).sum();
    let macs: u64 = layers.iter().map(|l| l.macs).sum();
    if json {
        let rows: Vec<_> = layers
            .iter()
            .map(|l| {
                serde_json::json!({"name": l.name, "kind": l.kind, "output": l.output.dims(),
                    "params": l.params, "macs": l.macs})
            })
            .collect();
        let doc = serde_json::json!({"network": net, "input": graph.input.dims(), "params": params,
            "macs": macs, "layers": rows});
        println!("{doc:#}");
        return Ok(true);
    }
    let mut t = Table::new(&["layer", "kind", "output", "params", "MACs"]);
    for l in &layers {
        t.row(vec![
            l.name.clone(),
            l.kind.into(),
            shape(l.output),
            thousands(l.params),
            thousands(l.macs),
        ]);
    }
    print!("{}", t.render());
    println!(
        "total: {} parameters, {} MACs ({:.3} G), input {}",
        thousands(params),
        thousands(macs),
        macs as f64 / 1e9,
        shape(graph.input)
    );
    Ok(true)
}

/// `deeper check <net>`.
pub fn check(net: &str, batch: usize, opts: &ModelOptions, tune: Option<bool>) -> Result<bool> {
    let tuning = Tuning::from_env_and_flag(tune)?;
    let gpu = open_gpu()?;
    let graph = models::build(net, opts)?;
    let seed = opts.seed;
    input_fits(&graph, batch)?;
    let input = random_input(&graph, batch, seed + 1);
    println!(
        "{net}: batch {batch}, input {}, random weights (seed {seed}), on {}",
        shape(input.shape),
        gpu.description()
    );
    let rows = check_layers(&gpu, &graph, &input, tuning)?;
    let mut t = Table::new(&[
        "layer (GPU)",
        "= CPU layer",
        "kind",
        "output",
        "rel L2",
        "max |Δ|",
        "result",
    ]);
    let mut ok = true;
    for r in &rows {
        ok &= r.comparison.passed();
        t.row(vec![
            r.name.clone(),
            r.reference.clone(),
            r.kind.into(),
            shape(r.shape),
            format!("{:.2e}", r.comparison.rel_l2),
            format!("{:.2e}", r.comparison.max_abs),
            pass(r.comparison.passed()),
        ]);
    }
    print!("{}", t.render());
    for r in rows.iter().filter(|r| !r.comparison.passed()) {
        println!("FAIL {}: {}", r.name, r.comparison);
    }
    println!(
        "{} of {} layers pass",
        rows.iter().filter(|r| r.comparison.passed()).count(),
        rows.len()
    );
    Ok(ok)
}

fn pass(ok: bool) -> String {
    if ok { "PASS" } else { "FAIL" }.into()
}

/// `deeper` with no arguments: every network at batch 1 on the GPU vs the CPU.
pub fn main_job(tune: Option<bool>) -> Result<bool> {
    let tuning = Tuning::from_env_and_flag(tune)?;
    let gpu = open_gpu()?;
    println!("deeper: every classic network at batch 1, native input size, seeded random weights");
    println!("device: {}\n", gpu.description());
    let mut t = Table::new(&[
        "network", "input", "params", "GMACs", "GPU ms", "CPU ms", "rel L2", "result",
    ]);
    let mut ok = true;
    for (i, net) in NETWORKS.iter().enumerate() {
        eprint!("[{}/{}] {net} ... ", i + 1, NETWORKS.len());
        let _ = std::io::stderr().flush();
        let graph = models::build(net, &ModelOptions::default())?;
        let input = random_input(&graph, 1, 1);
        let r = check_network(&gpu, &graph, &input, tuning)?;
        eprintln!(
            "{:.0} ms GPU, {:.0} ms CPU, {}",
            r.gpu_ms,
            r.cpu_ms,
            pass(r.comparison.passed())
        );
        ok &= r.comparison.passed();
        t.row(vec![
            net.to_string(),
            format!("{}x{}x{}", graph.input.c, graph.input.h, graph.input.w),
            thousands(r.params),
            format!("{:.3}", r.macs as f64 / 1e9),
            format!("{:.1}", r.gpu_ms),
            format!("{:.1}", r.cpu_ms),
            format!("{:.1e}", r.comparison.rel_l2),
            pass(r.comparison.passed()),
        ]);
    }
    println!("{}", t.render());
    println!(
        "GPU ms: one forward pass (upload, run, readback) after a warm-up; CPU ms: the reference."
    );
    let d = deeper::digits::check_heldout(&gpu)?;
    let pct = |c: usize| 100.0 * c as f64 / d.total as f64;
    println!(
        "\nbuilt-in LeNet-5 on {} held-out real MNIST digits: GPU {:.1}% ({} right), CPU {:.1}% ({} right); GPU and CPU agree on {} of {}",
        d.total, pct(d.gpu_correct), d.gpu_correct, pct(d.cpu_correct), d.cpu_correct, d.agree, d.total
    );
    Ok(ok && d.agree == d.total)
}

/// `words` joined by ", " after `head`, wrapped before `width` columns with continuation lines
/// indented as far as `head`.
fn wrapped(head: &str, words: &[String], width: usize) -> String {
    let indent = " ".repeat(head.chars().count());
    let mut out = String::new();
    let mut line = head.to_string();
    for (i, w) in words.iter().enumerate() {
        let item = if i + 1 < words.len() {
            format!("{w},")
        } else {
            w.clone()
        };
        if line.chars().count() + item.len() + 1 > width && line.len() > indent.len() {
            out += line.trim_end();
            out.push('\n');
            line = indent.clone();
        }
        line += &item;
        line.push(' ');
    }
    out += line.trim_end();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::wrapped;

    #[test]
    fn wrapped_lists_break_before_the_width_under_the_head() {
        let words: Vec<String> = ["ALPHA", "BETA", "GAMMA", "DELTA"].map(String::from).into();
        assert_eq!(
            wrapped("  f: ", &words, 20),
            "  f: ALPHA, BETA,\n     GAMMA, DELTA\n"
        );
        assert_eq!(wrapped("f ", &[], 20), "f\n");
    }
}
