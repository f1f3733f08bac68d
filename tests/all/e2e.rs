//! The `twin` binary end to end on real files.

use crate::util;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use std::path::Path;

fn col_sum(batches: &[arrow_array::RecordBatch], name: &str) -> i64 {
    batches.iter().map(|b| b.column_by_name(name).unwrap().as_primitive::<Int64Type>().values().iter().sum::<i64>()).sum()
}

#[test]
fn synth_validate_run_with_snapshots() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    let out = d.path().join("out");
    let (code, stdout, stderr) = util::run_twin(&["synth", "--persons", "3000", "--seed", "4", "--out", pop.to_str().unwrap()], d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote 3000 persons"), "{stdout}");
    let (code, stdout, stderr) = util::run_twin(&["validate", "--population", pop.to_str().unwrap()], d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("valid: 3000 persons"), "{stdout}");
    let args = ["run", "-q", "--population", pop.to_str().unwrap(), "--years", "2", "--seed", "9", "--snapshot-every", "12", "--out", out.to_str().unwrap()];
    let (code, stdout, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("universal credit caseload"), "summary printed: {stdout}");

    let agg = util::read_parquet(&out.join("aggregates.parquet"));
    let rows: usize = agg.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 24 * 12 * 8 * 2, "a row per month, region, age band and sex");
    let schema = agg[0].schema();
    for name in ["scenario", "replicate", "month", "region", "age_band", "sex", "population", "births", "deaths", "employed", "state_pension_pence", "universal_credit_caseload", "universal_credit_pence", "child_benefit_pence"] {
        assert!(schema.field_with_name(name).is_ok(), "column {name}");
    }
    assert_eq!(schema.field_with_name("state_pension_pence").unwrap().metadata().get("unit").map(String::as_str), Some("pence"));
    assert!(col_sum(&agg, "state_pension_pence") > 0);
    assert!(col_sum(&agg, "births") > 0);

    let snaps = util::read_parquet(&out.join("snapshots.parquet"));
    let snap_rows: usize = snaps.iter().map(|b| b.num_rows()).sum();
    assert!(snap_rows > 5_800 && snap_rows < 6_200, "two snapshots of ~3000 persons: {snap_rows}");
    // the months in order, and each column's unit kept when the months' parts were joined
    let months: Vec<i32> = snaps.iter().flat_map(|b| b.column_by_name("month").unwrap().as_any().downcast_ref::<arrow_array::Date32Array>().unwrap().values().to_vec()).collect();
    assert!(months.windows(2).all(|w| w[0] <= w[1]) && months[0] < months[months.len() - 1], "snapshot months out of order");
    assert_eq!(snaps[0].schema().field_with_name("earnings_pence").unwrap().metadata().get("unit").map(String::as_str), Some("pence per month"));
    assert!(!out.join("snapshot-parts").exists(), "snapshot parts left after the run");

    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 9);
    assert_eq!(manifest["months"], 24);
    assert_eq!(manifest["backend"], "cpu");
    for t in ["load", "simulate", "write"] {
        assert!(manifest["timings_s"][t].as_f64().is_some_and(|v| v > 0.0), "timings_s.{t}: {}", manifest["timings_s"]);
    }
    assert_eq!(manifest["population"]["persons"]["sha256"].as_str().unwrap().len(), 64);
    // the snapshots' writing is timed apart from the month steps, and the rate leaves it out
    let part = &manifest["parts"][0];
    let (sim, writing) = (part["simulate_s"].as_f64().unwrap(), part["writing_during_run_s"].as_f64().unwrap());
    assert!(sim > 0.0 && writing > 0.0, "{part}");
    let rate = manifest["person_months"].as_f64().unwrap() / sim;
    assert!((manifest["person_months_per_second"].as_f64().unwrap() - rate).abs() <= 1e-6 * rate, "{manifest}");
    // the test hook sleeps 250 ms in the per-month callback (where snapshots are written):
    // those 3 s are writing, not simulating (before the split, simulate_s held them)
    let out2 = d.path().join("out2");
    let status = std::process::Command::new(util::twin())
        .args(["run", "-q", "--population", pop.to_str().unwrap(), "--years", "1", "--out", out2.to_str().unwrap()])
        .env("POLICY_TWIN_TEST_MONTH_DELAY_MS", "250")
        .current_dir(d.path())
        .status()
        .unwrap();
    assert!(status.success());
    let m2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out2.join("manifest.json")).unwrap()).unwrap();
    let (sim2, writing2) = (m2["parts"][0]["simulate_s"].as_f64().unwrap(), m2["parts"][0]["writing_during_run_s"].as_f64().unwrap());
    assert!(writing2 >= 3.0 && sim2 < 3.0, "simulate {sim2} s, writing {writing2} s");
    // no temporary files left behind
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains("partial")).collect();
    assert!(leftovers.is_empty());
}

#[test]
fn default_run_uses_the_shipped_sample_and_baseline() {
    let d = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = util::run_twin(&["run", "-q"], d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("scenario `baseline`") && stdout.contains("year 10"), "{stdout}");
    let agg = util::read_parquet(&d.path().join("results/aggregates.parquet"));
    assert_eq!(agg.iter().map(|b| b.num_rows()).sum::<usize>(), 120 * 192);
}

#[test]
fn same_inputs_give_byte_identical_files_across_thread_counts() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    util::synth_into(&pop, 4000, 8, 2);
    let run = |threads: &str, out: &str| {
        let (code, _, stderr) = util::run_twin(&["run", "-q", "--threads", threads, "--population", pop.to_str().unwrap(), "--years", "1", "--snapshot-every", "6", "--out", out], d.path());
        assert_eq!(code, 0, "{stderr}");
    };
    run("1", "a");
    run("2", "b");
    for f in ["aggregates.parquet", "snapshots.parquet"] {
        let (x, y) = (std::fs::read(d.path().join("a").join(f)).unwrap(), std::fs::read(d.path().join("b").join(f)).unwrap());
        assert!(x == y, "{f} differs between 1 and 2 threads");
    }
}

fn no_results(dir: &Path) {
    for f in ["aggregates.parquet", "manifest.json", "snapshots.parquet"] {
        assert!(!dir.join(f).exists(), "{f} must not be written");
    }
}

#[test]
fn bad_inputs_exit_2_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    util::synth_into(&pop, 500, 8, 1);
    std::fs::write(pop.join("households.parquet"), b"not parquet").unwrap();
    let out = d.path().join("out");
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", pop.to_str().unwrap(), "--out", out.to_str().unwrap()], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("households.parquet") && stderr.contains("not a readable Parquet file"), "{stderr}");
    no_results(&out);

    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "[scenario]\nname = \"x\"\nbaseline = \"missing.toml\"\n").unwrap();
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--scenario", bad.to_str().unwrap(), "--out", out.to_str().unwrap()], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("scenario.baseline"), "{stderr}");
    no_results(&out);
}

#[test]
fn reforms_write_comparison_and_distribution_tables() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    util::synth_into(&pop, 4000, 12, 5);
    let s = util::root().join("scenarios");
    let (b, r1, r2) = (s.join("baseline.toml"), s.join("two_child_limit_abolished.toml"), s.join("lha_frozen.toml"));
    let args = [
        "run", "-q", "--population", pop.to_str().unwrap(), "--years", "2", "--out", "out",
        "--scenario", b.to_str().unwrap(), "--reform", r1.to_str().unwrap(), "--reform", r2.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("`two_child_limit_abolished` minus `baseline`"), "{stdout}");
    let out = d.path().join("out");
    let agg = util::read_parquet(&out.join("aggregates.parquet"));
    assert_eq!(agg.iter().map(|b| b.num_rows()).sum::<usize>(), 3 * 24 * 192, "three scenarios");
    let cmp = util::read_parquet(&out.join("comparison.parquet"));
    assert_eq!(cmp.iter().map(|b| b.num_rows()).sum::<usize>(), 2 * 24 * 192, "two reforms");
    // lha_frozen equals the baseline: every one of its comparison values is zero
    let mut frozen_rows = 0;
    for b in &cmp {
        let sc = b.column_by_name("scenario").unwrap().as_dictionary::<arrow_array::types::Int32Type>();
        let names = sc.values().as_string::<i32>();
        let rows: Vec<usize> = (0..b.num_rows()).filter(|&i| names.value(sc.keys().value(i) as usize) == "lha_frozen").collect();
        frozen_rows += rows.len();
        for f in b.schema().fields().iter().filter(|f| f.data_type() == &arrow_schema::DataType::Int64) {
            let col = b.column_by_name(f.name()).unwrap().as_primitive::<Int64Type>();
            assert!(rows.iter().all(|&i| col.value(i) == 0), "lha_frozen {} not zero", f.name());
        }
    }
    assert_eq!(frozen_rows, 24 * 192);
    let dist = util::read_parquet(&out.join("distribution.parquet"));
    assert!(dist.iter().map(|b| b.num_rows()).sum::<usize>() >= 2 * 2 * 10, "ten deciles per year per reform at least");
    // a reform not built on --scenario is refused
    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "[scenario]\nname = \"x\"\n").unwrap();
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", pop.to_str().unwrap(), "--reform", bad.to_str().unwrap(), "--out", "o2"], d.path());
    assert_eq!(code, 2, "{stderr}");
}

/// `twin bench --gpu-ablate` (a timing run that leaves work out of the GPU passes) is refused
/// where its wrong results would be compared or swept, before any work.
#[test]
fn bench_ablation_only_times_the_gpu() {
    let d = tempfile::tempdir().unwrap();
    for extra in [&["--backend", "both"][..], &["--backend", "cpu"][..], &["--backend", "gpu", "--sweep"][..]] {
        let mut args = vec!["bench", "-q", "--persons", "1000", "--months", "1", "--gpu-ablate", "apply-adds,cheap-hash"];
        args.extend_from_slice(extra);
        let (code, _, stderr) = util::run_twin(&args, d.path());
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains("--gpu-ablate") && stderr.contains("--backend gpu only"), "{extra:?}: {stderr}");
    }
    let (code, _, stderr) = util::run_twin(&["bench", "-q", "--backend", "gpu", "--gpu-ablate", "no-such-thing"], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("apply-adds"), "the error lists the ablations: {stderr}");
}

/// `twin bench --sweep` writes the scaling table (JSON, CSV) and a chart with a point per size.
#[test]
fn bench_sweep_writes_table_and_chart() {
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("sweep").join("s.json");
    let args = ["bench", "-q", "--sweep", "--sweep-sizes", "1000,3000", "--months", "2", "--backend", "cpu", "--json", json.to_str().unwrap()];
    let (code, stdout, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote"), "{stdout}");
    let csv = std::fs::read_to_string(json.with_extension("csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "header and a row per size: {csv}");
    assert!(lines[1].starts_with("cpu,") && lines[1].contains(",1000,2,") && lines[2].contains(",3000,2,"), "{csv}");
    let rate: f64 = lines[2].rsplit(',').next().unwrap().parse().unwrap();
    assert!(rate > 0.0);
    let svg = std::fs::read_to_string(json.with_extension("svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<circle").count(), 2, "a point per size");
    assert!(svg.contains("persons in the population") && svg.contains("million person-months per second"), "axis labels");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["sweep"].as_array().unwrap().len(), 2);
}
