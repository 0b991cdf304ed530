//! Plain-text tables with right-aligned numbers, and number formatting shared by the commands.

/// A table: a header row and data rows, printed with columns padded to fit.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table; the first column is left-aligned, the others right-aligned.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let width: Vec<usize> = (0..cols)
            .map(|c| {
                let cells = self
                    .rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .chain([&self.header[c]]);
                cells.map(|s| s.chars().count()).max().unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, s)| match i {
                    0 => format!("{s:<w$}", w = width[i]),
                    _ => format!("{s:>w$}", w = width[i]),
                })
                .collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = line(&self.header) + "\n";
        out += &"-".repeat(width.iter().sum::<usize>() + 2 * (cols - 1));
        out += "\n";
        for r in &self.rows {
            out += &line(r);
            out += "\n";
        }
        out
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A shape as `[1, 64, 56, 56]`.
pub fn shape(s: deeper::Shape) -> String {
    s.to_string()
}

/// Column titles of [`measured`].
pub const MEASURED: [&str; 7] = [
    "GPU ms", "MACs", "GFLOP/s", "GB/s", "FLOP/B", "%peak", "%roof",
];

/// A measured layer's cells under [`MEASURED`]: time, work, rates and shares of the peak.
pub fn measured(l: &deeper::bench::LayerRow) -> Vec<String> {
    vec![
        format!("{:.3}", l.gpu_ms),
        thousands(l.macs),
        format!("{:.2}", l.gflops),
        format!("{:.2}", l.gbps),
        format!("{:.1}", l.intensity),
        format!("{:.1}", l.pct_peak),
        format!("{:.1}", l.pct_roof),
    ]
}
