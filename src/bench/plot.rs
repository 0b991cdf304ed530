//! SVG pictures of a benchmark (plotters, SVG backend only): a log-log roofline (attained
//! GFLOP/s against arithmetic intensity, one point per layer, coloured by op kind, under the
//! device's measured FMA and copy-bandwidth ceilings) above a bar chart of the time per layer.
//! Layers without multiplies (pools, concat copies) have no FLOP rate and appear in the bars only.

use super::{LayerRow, Peak};
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const WIDTH: u32 = 1100;
const ROOF_HEIGHT: u32 = 640;
const BAR_PX: u32 = 18;
/// Points get a text label when there are at most this many.
const MAX_LABELS: usize = 16;

fn colour(kind: &str) -> RGBColor {
    match kind {
        "conv2d" => RGBColor(31, 119, 180),
        "linear" => RGBColor(214, 39, 40),
        "max_pool2d" | "avg_pool2d" | "adaptive_avg_pool2d" => RGBColor(44, 160, 44),
        "graph" => RGBColor(148, 103, 189),
        _ => RGBColor(127, 127, 127),
    }
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("plot {}: {e}", path.display()))
}

/// Writes the roofline and the per-layer bars of `rows` to `path`, whole or not at all (drawn
/// in memory, then [`crate::files::write_whole`]).
pub fn write_svg(path: &Path, title: &str, rows: &[LayerRow], peak: &Peak) -> Result<()> {
    let height = ROOF_HEIGHT + 90 + BAR_PX * rows.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let (top, bottom) = root.split_vertically(ROOF_HEIGHT);
        roofline(&top, title, rows, peak).map_err(|e| plot_err(path, e))?;
        bars(&bottom, rows).map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    crate::files::write_whole(path, svg.as_bytes())
}

/// Fails unless `path` can be a plot: its directory exists. Checked before a benchmark runs,
/// so that a typo does not cost the whole measurement.
pub fn check_path(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(plot_err(
            path,
            format!("directory {} does not exist", dir.display()),
        ))
    }
}

/// The file `bench all` writes for `net` given `--plot path`: `roofline.svg` →
/// `roofline-resnet50.svg`.
pub fn per_network(path: &Path, net: &str) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map_or("plot".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}-{net}.svg"))
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Axis range `[lo/2, hi·2]` over `values` (and `extra`), positive only.
fn log_range(values: impl Iterator<Item = f64>, extra: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((extra, extra), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (lo / 2.0, hi * 2.0)
}

fn roofline(
    area: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    rows: &[LayerRow],
    peak: &Peak,
) -> DrawResult {
    let pts: Vec<&LayerRow> = rows.iter().filter(|r| r.macs > 0).collect();
    let x = log_range(pts.iter().map(|r| r.intensity), peak.ridge());
    let y = log_range(pts.iter().map(|r| r.gflops), peak.gflops);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((x.0..x.1).log_scale(), (y.0..y.1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (FLOP / byte)")
        .y_desc("attained GFLOP/s")
        .label_style(("sans-serif", 14))
        .draw()?;
    let roof = vec![
        (x.0, x.0 * peak.gbps),
        (peak.ridge(), peak.gflops),
        (x.1, peak.gflops),
    ];
    let caption = format!(
        "roofline: {:.1} GFLOP/s FMA, {:.1} GB/s copy (measured)",
        peak.gflops, peak.gbps
    );
    chart
        .draw_series(LineSeries::new(roof, BLACK.stroke_width(2)))?
        .label(caption)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    let mut kinds: Vec<&str> = pts.iter().map(|r| r.kind.as_str()).collect();
    kinds.dedup();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let c = colour(kind);
        let of_kind = pts.iter().filter(|r| r.kind == kind);
        chart
            .draw_series(of_kind.map(|r| Circle::new((r.intensity, r.gflops), 5, c.filled())))?
            .label(kind)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    }
    if pts.len() <= MAX_LABELS {
        let style = ("sans-serif", 13).into_font();
        chart.draw_series(pts.iter().map(|r| {
            Text::new(
                format!(" {}", r.name),
                (r.intensity, r.gflops),
                style.clone(),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

fn bars(area: &DrawingArea<SVGBackend, Shift>, rows: &[LayerRow]) -> DrawResult {
    let n = rows.len();
    let max_ms = rows.iter().map(|r| r.gpu_ms).fold(0.0, f64::max).max(1e-6);
    let total: f64 = rows.iter().map(|r| r.gpu_ms).sum();
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("GPU time, median (total {total:.2} ms)"),
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(35)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0..max_ms * 1.45, 0.0..n.max(1) as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("ms")
        .label_style(("sans-serif", 14))
        .draw()?;
    // The first layer on top.
    let row_y = |i: usize| (n - 1 - i) as f64;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let y = row_y(i);
        Rectangle::new(
            [(0.0, y + 0.15), (r.gpu_ms, y + 0.85)],
            colour(&r.kind).filled(),
        )
    }))?;
    let style = ("sans-serif", 12).into_font();
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let label = format!(" {} {:.3} ms ({})", r.name, r.gpu_ms, r.kernel);
        Text::new(label, (r.gpu_ms, row_y(i) + 0.8), style.clone())
    }))?;
    Ok(())
}
