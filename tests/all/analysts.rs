//! What analysts use: `twin report` (a self-contained HTML page, rendered in headless Chromium),
//! `twin summary` (table, CSV, JSON), the capacity table, and the Python example and reader
//! checks in `scripts/` (pyarrow, polars, DuckDB, matplotlib).
//!
//! The browser and Python tests skip with a message when Chromium or the Python packages are
//! missing, unless POLICY_TWIN_REQUIRE_BROWSER=1 / POLICY_TWIN_REQUIRE_PYTHON=1 (set by
//! `.ci/run`, which installs them), when they fail instead.

use crate::util;
use arrow_array::cast::AsArray;
use arrow_array::Array;
use policy_twin::codes;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A baseline + two reforms (two-child limit abolished; social care capacity +20%), 2 years,
/// 4,000 persons, written by the `twin` binary once per test process.
fn run_dir() -> &'static Path {
    static R: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &R.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let pop = d.path().join("pop");
        util::synth_into(&pop, 4000, 12, 5);
        let s = util::root().join("scenarios");
        let (b, r1, r2) = (s.join("baseline.toml"), s.join("two_child_limit_abolished.toml"), s.join("social_care_capacity_plus_20.toml"));
        let args = [
            "run", "-q", "--population", pop.to_str().unwrap(), "--years", "2", "--out", "run",
            "--scenario", b.to_str().unwrap(), "--reform", r1.to_str().unwrap(), "--reform", r2.to_str().unwrap(),
        ];
        let (code, _, stderr) = util::run_twin(&args, d.path());
        assert_eq!(code, 0, "{stderr}");
        let run = d.path().join("run");
        (d, run)
    })
    .1
}

fn report_html() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let out = run_dir().join("report.html");
        let (code, stdout, stderr) = util::run_twin(&["report", run_dir().to_str().unwrap()], run_dir());
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("report.html"), "{stdout}");
        std::fs::read_to_string(out).unwrap()
    })
}

/// Every chart the issue asks for, by its title.
fn expected_titles() -> Vec<String> {
    let mut t: Vec<String> = vec!["Population".into(), "Caseloads (baseline)".into(), "Benefit spend (baseline)".into(), "Benefit spend, all benefits above".into()];
    for s in codes::SERVICE_TITLES {
        t.push(format!("{s}: demand and capacity (baseline)"));
        t.push(format!("{s}: waiting list and unmet need (baseline)"));
    }
    for r in ["two_child_limit_abolished", "social_care_capacity_plus_20"] {
        t.push(format!("Cost to the exchequer by department: {r} − baseline"));
        t.push(format!("Mean change in household net income by decile, year 2: {r}"));
        t.push(format!("Winners and losers by decile, year 2: {r}"));
    }
    t.push("Universal Credit paid: baseline and reform".into());
    t.push("Universal Credit paid: reform minus baseline".into());
    t.push("Social care waiting list: baseline and reform".into());
    t.push("Social care delivered: reform minus baseline".into());
    t
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[test]
fn report_is_self_contained_and_has_every_chart_labelled() {
    let h = report_html();
    // nothing to fetch: no scripts, stylesheets, images or fonts from anywhere
    for banned in ["<script", "<link", "<img", "<iframe", "src=", "@import", "url("] {
        assert!(!h.contains(banned), "report contains {banned}");
    }
    let without_ns = h.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"), "report links out");
    for t in expected_titles() {
        assert!(h.contains(&format!("<title>{}</title>", esc(&t))), "missing chart `{t}`");
    }
    // every chart has a title, both axis labels (non-empty) and a source line naming the run
    let charts = h.matches("<svg ").count();
    assert!(charts >= expected_titles().len(), "{charts} charts");
    for part in ["class=\"chart-title\"", "class=\"x-label\"", "class=\"y-label\"", "class=\"source\""] {
        assert_eq!(h.matches(part).count(), charts, "{part} on every chart");
    }
    let source = h.matches("Source: policy-twin ").count();
    assert!(source > charts, "a source line on every chart and under the regional table");
    assert!(h.contains("run `run` (24 months from"), "source names the run");
    // the regional table: a row per region
    for r in codes::REGIONS {
        assert!(h.contains(&format!("<tr><td>{}</td>", esc(r))), "region {r}");
    }
    // a measure a reform leaves unchanged gets no comparison chart: the care reform does not
    // touch Universal Credit, so its chart appears once (for the two-child reform)
    assert_eq!(h.matches("<title>Universal Credit paid: baseline and reform</title>").count(), 1);
}

#[test]
fn capacity_table_follows_the_scenarios() {
    let b = util::read_parquet(&run_dir().join("capacity.parquet"));
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 3 * 24 * codes::N_QUEUES);
    // social care capacity by (scenario, month), summed over regions
    let mut care: std::collections::BTreeMap<(String, i32), i64> = Default::default();
    for batch in &b {
        let sc = batch.column_by_name("scenario").unwrap().as_dictionary::<arrow_array::types::Int32Type>();
        let names = sc.values().as_string::<i32>();
        let svc = batch.column_by_name("service").unwrap().as_dictionary::<arrow_array::types::Int32Type>();
        let svc_names = svc.values().as_string::<i32>();
        let month = batch.column_by_name("month").unwrap().as_primitive::<arrow_array::types::Date32Type>();
        let units = batch.column_by_name("capacity_units").unwrap().as_primitive::<arrow_array::types::Int64Type>();
        assert_eq!(units.null_count(), 0);
        for i in 0..batch.num_rows() {
            if svc_names.value(svc.keys().value(i) as usize) == "social_care" {
                *care.entry((names.value(sc.keys().value(i) as usize).to_string(), month.value(i))).or_default() += units.value(i);
            }
        }
    }
    // the last 12 months (the monthly figures carry fractions of a unit from month to month)
    let year2 = |s: &str| care.iter().filter(|((n, _), _)| n == s).map(|(_, v)| *v).skip(12).sum::<i64>();
    let care = [year2("baseline"), year2("two_child_limit_abolished"), year2("social_care_capacity_plus_20")];
    assert!(care[0] > 0 && care[1] == care[0], "{care:?}");
    let ratio = care[2] as f64 / care[0] as f64;
    assert!((ratio - 1.2).abs() < 0.01, "care capacity +20%: {care:?}");
}

/// Sum a measure column of aggregates.parquet over every row of a scenario and month index.
fn agg_total(scenario: &str, month_index: usize, column: &str) -> i64 {
    let mut months: Vec<i32> = Vec::new();
    let batches = util::read_parquet(&run_dir().join("aggregates.parquet"));
    for b in &batches {
        months.extend(b.column_by_name("month").unwrap().as_primitive::<arrow_array::types::Date32Type>().values().iter());
    }
    months.sort();
    months.dedup();
    let want = months[month_index];
    let mut total = 0;
    for b in &batches {
        let sc = b.column_by_name("scenario").unwrap().as_dictionary::<arrow_array::types::Int32Type>();
        let names = sc.values().as_string::<i32>();
        let month = b.column_by_name("month").unwrap().as_primitive::<arrow_array::types::Date32Type>();
        let v = b.column_by_name(column).unwrap().as_primitive::<arrow_array::types::Int64Type>();
        for i in 0..b.num_rows() {
            if names.value(sc.keys().value(i) as usize) == scenario && month.value(i) == want {
                total += v.value(i);
            }
        }
    }
    total
}

#[test]
fn summary_prints_table_csv_and_json_that_agree_with_the_files() {
    let dir = run_dir().to_str().unwrap();
    let (code, table, stderr) = util::run_twin(&["summary", dir], run_dir());
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("scenario `baseline`") && table.contains("`two_child_limit_abolished` minus `baseline`") && table.contains("year 2 ("), "{table}");
    assert!(table.contains("winners") && table.contains("by baseline income decile"), "{table}");

    let (code, csv, stderr) = util::run_twin(&["summary", dir, "--format", "csv"], run_dir());
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "scenario,versus,measure,unit,first_year,first_value,last_year,last_value");
    let n = policy_twin::summary::HEADLINES.len();
    assert_eq!(lines.len() - 1, (3 + 2) * n, "levels for 3 scenarios, differences for 2 reforms");
    let field = |scen: &str, versus: &str, measure: &str| -> (f64, f64) {
        let l = lines.iter().find(|l| l.starts_with(&format!("{scen},{versus},{measure},"))).unwrap_or_else(|| panic!("{scen} {versus} {measure}: {csv}"));
        let f: Vec<&str> = l.split(',').collect();
        (f[5].parse().unwrap(), f[7].parse().unwrap())
    };
    // the population at the end of year 1 and year 2, from the aggregates directly
    let (p1, p2) = field("baseline", "", "population");
    assert_eq!(p1 as i64, agg_total("baseline", 11, "population"));
    assert_eq!(p2 as i64, agg_total("baseline", 23, "population"));
    // the two-child limit's abolition raises Universal Credit in year 2 (it starts in April 2026)
    let (_, uc) = field("two_child_limit_abolished", "baseline", "universal credit");
    assert!(uc > 0.0, "{uc}");
    let (_, uc_level) = field("two_child_limit_abolished", "", "universal credit");
    let (_, uc_base) = field("baseline", "", "universal credit");
    assert!((uc_level - uc_base - uc).abs() < 1e-6);
    // the care-capacity reform does not touch benefits
    assert_eq!(field("social_care_capacity_plus_20", "baseline", "universal credit"), (0.0, 0.0));

    let (code, json, stderr) = util::run_twin(&["summary", dir, "--format", "json"], run_dir());
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["baseline"], "baseline");
    assert_eq!(v["months"], 24);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), (3 + 2) * n);
    let row = rows.iter().find(|r| r["scenario"] == "two_child_limit_abolished" && r["versus"] == "baseline" && r["measure"] == "universal credit").unwrap();
    assert_eq!(row["last"].as_f64().unwrap(), uc);
}

#[test]
fn report_and_summary_refuse_what_is_not_a_run() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, stderr) = util::run_twin(&["report", d.path().to_str().unwrap()], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("manifest.json"), "{stderr}");
    // a run directory whose aggregates are another table
    let fake = d.path().join("fake");
    std::fs::create_dir(&fake).unwrap();
    std::fs::copy(run_dir().join("manifest.json"), fake.join("manifest.json")).unwrap();
    std::fs::copy(run_dir().join("capacity.parquet"), fake.join("aggregates.parquet")).unwrap();
    let (code, _, stderr) = util::run_twin(&["summary", fake.to_str().unwrap()], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("aggregates.parquet") && stderr.contains("column `population`"), "{stderr}");
    assert!(!fake.join("report.html").exists());
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|n| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {n}")).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

fn required(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1").unwrap_or(false)
}

fn headless(browser: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--window-size=1400,2400"])
        .args(args)
        .output()
        .expect("chromium runs")
}

/// Measured in the browser, after layout: each chart's size, its drawn marks and its labels.
const CHECK_SCRIPT: &str = r#"<script>
(function () {
  const out = [];
  document.querySelectorAll('svg.chart').forEach(function (s) {
    const r = s.getBoundingClientRect();
    const marks = Array.from(s.querySelectorAll('polyline.series, rect.bar')).filter(function (e) { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;
    const w = function (sel) { const e = s.querySelector(sel); return e ? e.getBBox().width : 0; };
    out.push({ title: (s.querySelector('.chart-title') || {}).textContent || '', w: r.width, h: r.height, marks: marks, x_label: w('.x-label'), y_label: w('.y-label'), source: w('.source') });
  });
  const pre = document.createElement('pre');
  pre.id = 'svg-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(!required("POLICY_TWIN_REQUIRE_BROWSER"), "POLICY_TWIN_REQUIRE_BROWSER=1 but no chromium found");
        eprintln!("skipped: no chromium (Debian: apt-get install chromium)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let page = d.path().join("check.html");
    std::fs::write(&page, report_html().replace("</body>", &format!("{CHECK_SCRIPT}</body>"))).unwrap();
    let out = headless(&browser, &["--dump-dom", &format!("file://{}", page.display())]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"svg-check\">").unwrap_or_else(|| panic!("no check output; stderr: {}", String::from_utf8_lossy(&out.stderr))) + "<pre id=\"svg-check\">".len();
    let json = dom[start..dom[start..].find("</pre>").unwrap() + start].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    let charts: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let titles: Vec<&str> = charts.iter().map(|c| c["title"].as_str().unwrap()).collect();
    for t in expected_titles() {
        assert!(titles.contains(&t.as_str()), "chart `{t}` not drawn; drawn: {titles:?}");
    }
    for c in &charts {
        let num = |k: &str| c[k].as_f64().unwrap();
        assert!(num("w") > 300.0 && num("h") > 150.0, "chart drawn too small: {c}");
        assert!(num("marks") >= 1.0, "no lines or bars drawn: {c}");
        assert!(num("x_label") > 10.0 && num("y_label") > 10.0 && num("source") > 100.0, "labels not drawn: {c}");
    }
    // a screenshot of the page itself is not blank: many colours, a fair share of ink
    let shot = d.path().join("report.png");
    std::fs::write(d.path().join("report.html"), report_html()).unwrap();
    let out = headless(&browser, &[&format!("--screenshot={}", shot.display()), &format!("file://{}", d.path().join("report.html").display())]);
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let data = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for p in data.chunks(px) {
        colours.insert((p[0], p[1], p[2]));
        if p[0] < 200 || p[1] < 200 || p[2] < 200 {
            ink += 1;
        }
    }
    let share = ink as f64 / (data.len() / px) as f64;
    assert!(colours.len() > 20 && share > 0.01, "screenshot looks blank: {} colours, {:.3} ink", colours.len(), share);
}

fn python_ready() -> bool {
    util::python_with("pyarrow, polars, duckdb, matplotlib")
}

#[test]
fn notebook_example_saves_its_figures() {
    if !python_ready() {
        return;
    }
    let figs = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(util::root().join("scripts/analyst_example.py"))
        .args([run_dir().to_str().unwrap(), "--reform", "two_child_limit_abolished", "--out", figs.path().to_str().unwrap()])
        .env("MPLBACKEND", "Agg")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for f in ["reform_vs_baseline.png", "distribution_by_decile.png"] {
        let p = figs.path().join(f);
        let bytes = std::fs::read(&p).unwrap_or_else(|_| panic!("{f} not written"));
        assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG"), "{f}: {} bytes", bytes.len());
    }
    // a run with no reform is refused with a message, exit 2
    let out = Command::new("python3").arg(util::root().join("scripts/analyst_example.py")).args([run_dir().to_str().unwrap(), "--reform", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn pyarrow_polars_and_duckdb_read_the_run_as_it_is() {
    if !python_ready() {
        return;
    }
    let out = Command::new("python3").arg(util::root().join("scripts/check_readers.py")).arg(run_dir()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("all readers agree"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}
