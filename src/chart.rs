//! Charts drawn as plain SVG (no scripts, fonts or files to fetch), for `twin report` and
//! `twin bench --sweep`: a line chart (optionally with a log x axis) and a grouped bar chart.
//! Every chart has a title, axis labels with units and a source line.

use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 396.0;
const LEFT: f64 = 86.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 46.0;
const BOTTOM: f64 = 94.0;
/// Line and bar colours (colour-blind-safe order from the Okabe–Ito palette).
pub const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#56B4E9", "#E69F00", "#F0E442"];

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One line: its name (legend), points (x, y), colour index and whether it is dashed.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub colour: usize,
    pub dashed: bool,
}

/// How the x axis reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// x in years as fractions (2025.0 is January 2025); ticks labelled by year (or year-month).
    Time,
    /// x linear, ticks labelled as numbers.
    Linear,
    /// x > 0 on a log scale, ticks at powers of ten.
    Log10,
}

pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub source: String,
    pub x_axis: XAxis,
    pub series: Vec<Series>,
}

pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub source: String,
    /// Category labels along x.
    pub categories: Vec<String>,
    /// Groups of bars: (legend name, one value per category).
    pub groups: Vec<(String, Vec<f64>)>,
}

/// About `n` round tick values covering [lo, hi] (step 1, 2 or 5 × a power of ten).
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: thousands separated, decimals only as many as the step needs.
pub fn fmt_num(v: f64, step: f64) -> String {
    let dec = if step >= 1.0 || step <= 0.0 { 0 } else { (-step.log10()).ceil() as usize };
    let s = format!("{:.*}", dec, v.abs());
    let (int, frac) = s.split_once('.').map(|(a, b)| (a.to_string(), format!(".{b}"))).unwrap_or((s.clone(), String::new()));
    let mut grouped = String::new();
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let neg = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    format!("{}{grouped}{frac}", if neg { "−" } else { "" })
}

fn frame(o: &mut String, kind: &str, title: &str) {
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {kind}\" role=\"img\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text class=\"chart-title\" x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        esc(title),
        W / 2.0,
        esc(title)
    );
}

fn axes_labels(o: &mut String, x_label: &str, y_label: &str, source: &str) {
    let _ = writeln!(o, "<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", (LEFT + W - RIGHT) / 2.0, H - BOTTOM + 38.0, esc(x_label));
    let _ = writeln!(o, "<text class=\"y-label\" transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>", (TOP + H - BOTTOM) / 2.0, esc(y_label));
    let _ = writeln!(o, "<text class=\"source\" x=\"8\" y=\"{}\" font-size=\"10\" fill=\"#555\">{}</text>", H - 8.0, esc(source));
}

/// The y range and ticks for values `ys`: from zero, unless every value is on one side of
/// zero and they span less than a fifth of their size (a population of about 100,000 moving
/// by a few hundred), when the axis starts near the values so the change can be seen.
fn y_scale(ys: impl Iterator<Item = f64>, tight: bool) -> (f64, f64, Vec<f64>) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for y in ys.filter(|y| y.is_finite()) {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    let near = tight && ((lo > 0.0 && hi - lo < 0.2 * hi) || (hi < 0.0 && hi - lo < 0.2 * -lo));
    if !near {
        (lo, hi) = (lo.min(0.0), hi.max(0.0));
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let t = ticks(lo, hi, 5);
    (t[0], *t.last().expect("ticks"), t)
}

fn y_axis(o: &mut String, t: &[f64], py: &dyn Fn(f64) -> f64) {
    let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
    for &y in t {
        let v = py(y);
        let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{v:.1}\" x2=\"{}\" y2=\"{v:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", W - RIGHT, LEFT - 6.0, v + 4.0, fmt_num(y, step));
    }
    let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>", H - BOTTOM);
    if t[0] < 0.0 && *t.last().expect("ticks") > 0.0 {
        let z = py(0.0);
        let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{z:.1}\" x2=\"{}\" y2=\"{z:.1}\" stroke=\"#444\"/>", W - RIGHT);
    }
}

fn legend(o: &mut String, items: &[(String, usize, bool)]) {
    // one row under the x label, wrapping
    let (mut x, mut y) = (LEFT, H - BOTTOM + 56.0);
    for (name, colour, dashed) in items {
        let w = 28.0 + 6.5 * name.chars().count() as f64;
        if x + w > W - RIGHT && x > LEFT {
            x = LEFT;
            y += 14.0;
        }
        let c = COLOURS[colour % COLOURS.len()];
        let dash = if *dashed { " stroke-dasharray=\"5 3\"" } else { "" };
        let _ = writeln!(o, "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{c}\" stroke-width=\"3\"{dash}/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>", y - 4.0, x + 20.0, y - 4.0, x + 24.0, y, esc(name));
        x += w;
    }
}

impl LineChart {
    pub fn svg(&self) -> String {
        let mut o = String::new();
        frame(&mut o, "line-chart", &self.title);
        let fx = |x: f64| if self.x_axis == XAxis::Log10 { x.max(1e-300).log10() } else { x };
        let xs: Vec<f64> = self.series.iter().flat_map(|s| s.points.iter().map(|p| fx(p.0))).filter(|x| x.is_finite()).collect();
        let (mut x0, mut x1) = (xs.iter().cloned().fold(f64::INFINITY, f64::min), xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
        if !x0.is_finite() {
            (x0, x1) = (0.0, 1.0);
        }
        if self.x_axis == XAxis::Log10 {
            (x0, x1) = (x0.floor(), x1.ceil());
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let (y0, y1, yt) = y_scale(self.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), true);
        let px = |x: f64| LEFT + (fx(x) - x0) / (x1 - x0) * (W - LEFT - RIGHT);
        let py = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);
        y_axis(&mut o, &yt, &py);
        // x axis and ticks
        let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>", H - BOTTOM, W - RIGHT, H - BOTTOM);
        let xt: Vec<(f64, String)> = match self.x_axis {
            XAxis::Log10 => (x0 as i32..=x1 as i32).map(|e| (10f64.powi(e), format!("10^{e}"))).collect(),
            XAxis::Linear => {
                let t = ticks(x0, x1, 6);
                let step = if t.len() > 1 { t[1] - t[0] } else { 1.0 };
                t.into_iter().filter(|x| *x >= x0 - 1e-9 && *x <= x1 + 1e-9).map(|x| (x, fmt_num(x, step))).collect()
            }
            XAxis::Time => {
                let span = x1 - x0;
                let step = if span > 12.0 { 2.0 } else if span >= 2.0 { 1.0 } else if span >= 0.75 { 0.25 } else { 1.0 / 12.0 };
                let mut v = Vec::new();
                let mut k = (x0 / step - 1e-9).ceil() as i64;
                while (k as f64) * step <= x1 + 1e-9 {
                    let x = k as f64 * step;
                    let (y, m) = (x.floor() as i64, ((x - x.floor()) * 12.0).round() as i64);
                    v.push((x, if m == 0 { format!("{y}") } else { format!("{y}-{:02}", m + 1) }));
                    k += 1;
                }
                v
            }
        };
        for (x, label) in xt {
            let v = px(x);
            let _ = writeln!(o, "<line x1=\"{v:.1}\" y1=\"{}\" x2=\"{v:.1}\" y2=\"{}\" stroke=\"black\"/><text x=\"{v:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>", H - BOTTOM, H - BOTTOM + 5.0, H - BOTTOM + 18.0, esc(&label));
        }
        let n = self.series.len();
        for (k, s) in self.series.iter().enumerate() {
            let c = COLOURS[s.colour % COLOURS.len()];
            // earlier lines drawn wider, so a line that coincides with a later one still shows
            let width = (2.0 + (n - 1 - k) as f64).min(4.5);
            let dash = if s.dashed { " stroke-dasharray=\"6 4\"" } else { "" };
            let pts: Vec<String> = s.points.iter().filter(|p| p.1.is_finite()).map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
            let _ = writeln!(o, "<polyline class=\"series\" fill=\"none\" stroke=\"{c}\" stroke-width=\"{width}\"{dash} points=\"{}\"><title>{}</title></polyline>", pts.join(" "), esc(&s.name));
            if s.points.len() <= 24 {
                for &(x, y) in &s.points {
                    let _ = writeln!(o, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"><title>{}: {}</title></circle>", px(x), py(y), esc(&s.name), fmt_num(y, 0.001));
                }
            }
        }
        axes_labels(&mut o, &self.x_label, &self.y_label, &self.source);
        legend(&mut o, &self.series.iter().map(|s| (s.name.clone(), s.colour, s.dashed)).collect::<Vec<_>>());
        o.push_str("</svg>\n");
        o
    }
}

impl BarChart {
    pub fn svg(&self) -> String {
        let mut o = String::new();
        frame(&mut o, "bar-chart", &self.title);
        let (y0, y1, yt) = y_scale(self.groups.iter().flat_map(|g| g.1.iter().copied()), false);
        let py = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);
        y_axis(&mut o, &yt, &py);
        let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>", H - BOTTOM, W - RIGHT, H - BOTTOM);
        let n = self.categories.len().max(1) as f64;
        let slot = (W - LEFT - RIGHT) / n;
        let g = self.groups.len().max(1) as f64;
        let bar = slot * 0.8 / g;
        for (k, cat) in self.categories.iter().enumerate() {
            let cx = LEFT + slot * (k as f64 + 0.5);
            let _ = writeln!(o, "<text x=\"{cx:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>", H - BOTTOM + 16.0, esc(cat));
            for (j, (name, vals)) in self.groups.iter().enumerate() {
                let v = vals.get(k).copied().unwrap_or(0.0);
                if !v.is_finite() {
                    continue;
                }
                let x = LEFT + slot * k as f64 + slot * 0.1 + bar * j as f64;
                let (a, b) = (py(v.max(0.0)), py(v.min(0.0)));
                // a bar of value 0 is drawn one pixel high so it can be seen as zero
                let h = (b - a).max(1.0);
                let c = COLOURS[j % COLOURS.len()];
                let _ = writeln!(o, "<rect class=\"bar\" x=\"{x:.1}\" y=\"{a:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{c}\"><title>{} · {}: {}</title></rect>", bar.max(1.0), esc(cat), esc(name), fmt_num(v, 0.001));
            }
        }
        axes_labels(&mut o, &self.x_label, &self.y_label, &self.source);
        if self.groups.len() > 1 || self.groups.first().is_some_and(|g| !g.0.is_empty()) {
            legend(&mut o, &self.groups.iter().enumerate().map(|(j, g)| (g.0.clone(), j, false)).collect::<Vec<_>>());
        }
        o.push_str("</svg>\n");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 97.0, 5), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = ticks(-3.2, 14.0, 5);
        assert!(t[0] <= -3.2 && *t.last().unwrap() >= 14.0);
        assert_eq!(t[1] - t[0], 5.0);
        assert_eq!(ticks(0.0, 0.37, 4), vec![0.0, 0.1, 0.2, 0.30000000000000004, 0.4]);
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(fmt_num(1234567.0, 1.0), "1,234,567");
        assert_eq!(fmt_num(-1500.0, 500.0), "−1,500");
        assert_eq!(fmt_num(0.25, 0.05), "0.25");
        assert_eq!(fmt_num(-0.0, 1.0), "0");
        assert_eq!(fmt_num(999.0, 1.0), "999");
    }

    #[test]
    fn a_chart_has_its_parts() {
        let c = LineChart {
            title: "Population <all>".into(),
            x_label: "month".into(),
            y_label: "persons".into(),
            source: "Source: test".into(),
            x_axis: XAxis::Time,
            series: vec![Series { name: "baseline".into(), points: vec![(2025.0, 10.0), (2025.5, 12.0), (2026.0, 11.0)], colour: 0, dashed: false }],
        }
        .svg();
        assert!(c.starts_with("<svg") && c.ends_with("</svg>\n"));
        for part in ["Population &lt;all&gt;", "class=\"x-label\"", ">persons<", "Source: test", "<polyline", ">2025<", ">2026<"] {
            assert!(c.contains(part), "missing {part}");
        }
        let b = BarChart { title: "t".into(), x_label: "decile".into(), y_label: "£".into(), source: "s".into(), categories: vec!["1".into(), "2".into()], groups: vec![("mean".into(), vec![-5.0, 10.0])] }.svg();
        assert_eq!(b.matches("class=\"bar\"").count(), 2);
    }
}
