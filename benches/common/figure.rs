//! What the benches print: one figure over several runs, as a Markdown table row with its median,
//! spread and target. Shared by `benches/lifecycle.rs` and `benches/action.rs` (`#[path]`).

/// A `u64` from the environment, else `default` (the benches' `BENCH_*` knobs).
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The header of the table `Figure::row` fills.
pub const HEADER: &str = "| Figure | Median | Spread (min–max) | Target | Runs |\n|---|---|---|---|---|";

/// One figure over several runs.
pub struct Figure {
    pub name: String,
    pub unit: &'static str,
    pub target: String,
    pub values: Vec<f64>,
}

impl Figure {
    pub fn new(name: &str, unit: &'static str, target: &str) -> Self {
        Self { name: name.into(), unit, target: target.into(), values: Vec::new() }
    }

    /// The median, or `None` without runs.
    pub fn median(&self) -> Option<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    pub fn row(&self) -> String {
        let Some(median) = self.median() else { return format!("| {} | – | – | {} | 0 |", self.name, self.target) };
        let min = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let fmt = |x: f64| if x.fract() == 0.0 && x.abs() < 1e6 { format!("{x:.0}") } else { format!("{x:.2}") };
        format!(
            "| {} | {} {} | {}–{} | {} | {} |",
            self.name,
            fmt(median),
            self.unit,
            fmt(min),
            fmt(max),
            self.target,
            self.values.len()
        )
    }

    /// `row` with ` met` / ` MISSED` after the target, judged by `met(median)`.
    pub fn judged(&self, met: impl Fn(f64) -> bool) -> String {
        let verdict = match self.median() {
            Some(m) if met(m) => "met",
            Some(_) => "MISSED",
            None => "not measured",
        };
        let mut judged = Figure::new(&self.name, self.unit, &format!("{} {verdict}", self.target));
        judged.values = self.values.clone();
        judged.row()
    }
}
