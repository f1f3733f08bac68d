//! Robustness: property-based tests (proptest) that random valid populations load and run,
//! random invalid ones are refused with an error naming the column, corrupted and truncated
//! Parquet files and mutated or random scenario files are refused without a panic; the
//! output-directory and memory checks of `twin run`.

use crate::util;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use policy_twin::input;
use policy_twin::scenario::Scenario;
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

/// One generated person: (age, sex, employment, earnings £/month, health, care, wealth £).
type P = (u32, usize, usize, f64, usize, usize, f64);
/// One generated household: (region, tenure, rent £/month, weight, members).
type H = (usize, usize, f64, i64, Vec<P>);

const SEX: [&str; 2] = ["female", "male"];
const ADULT_EMP: [&str; 5] = ["in_education", "employed", "unemployed", "inactive", "retired"];
const HEALTH: [&str; 3] = ["good", "limiting", "severe"];
const CARE: [&str; 3] = ["none", "moderate", "substantial"];
const TENURE: [&str; 4] = ["owner", "private_rent", "social_rent", "temporary_accommodation"];

fn person() -> impl Strategy<Value = P> {
    (0u32..=110, 0usize..2, 0usize..5, 0.0f64..20_000.0, 0usize..3, 0usize..3, 0.0f64..2_000_000.0)
}

fn household() -> impl Strategy<Value = H> {
    (0usize..12, 0usize..4, 0.0f64..3_000.0, 1i64..5_000, prop::collection::vec(person(), 1..6))
}

fn population() -> impl Strategy<Value = Vec<H>> {
    prop::collection::vec(household(), 1..25)
}

fn utf8(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

/// The population as the two record batches of the input format (plain strings, int64 ids).
#[allow(clippy::type_complexity)] // the columns as a tuple of vectors, one per column, in the file's order
fn batches(hhs: &[H]) -> (RecordBatch, RecordBatch) {
    let mut p: (Vec<i64>, Vec<i64>, Vec<i64>, Vec<&str>, Vec<&str>, Vec<f64>, Vec<&str>, Vec<&str>, Vec<f64>) = Default::default();
    let mut h: (Vec<i64>, Vec<&str>, Vec<&str>, Vec<f64>, Vec<i64>) = Default::default();
    for (k, (region, tenure, rent, weight, members)) in hhs.iter().enumerate() {
        let hid = 1000 + k as i64 * 7;
        h.0.push(hid);
        h.1.push(policy_twin::codes::REGIONS[*region]);
        h.2.push(TENURE[*tenure]);
        h.3.push(if *tenure == 0 { 0.0 } else { (*rent * 100.0).round() / 100.0 });
        h.4.push(*weight);
        for (age, sex, emp, earn, health, care, wealth) in members {
            p.0.push(p.0.len() as i64 * 3 + 5);
            p.1.push(hid);
            p.2.push(*age as i64);
            p.3.push(SEX[*sex]);
            let e = if *age < 16 { "child" } else { ADULT_EMP[*emp] };
            p.4.push(e);
            p.5.push(if e == "employed" { (*earn * 100.0).round() / 100.0 } else { 0.0 });
            p.6.push(HEALTH[*health]);
            p.7.push(CARE[*care]);
            p.8.push(wealth.round());
        }
    }
    let ps = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("household_id", DataType::Int64, false),
        Field::new("age", DataType::Int64, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("employment", DataType::Utf8, false),
        Field::new("earnings", DataType::Float64, false),
        Field::new("health", DataType::Utf8, false),
        Field::new("care_need", DataType::Utf8, false),
        Field::new("wealth", DataType::Float64, false),
    ]));
    let hs = Arc::new(Schema::new(vec![
        Field::new("household_id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("tenure", DataType::Utf8, false),
        Field::new("rent", DataType::Float64, false),
        Field::new("weight", DataType::Int64, false),
    ]));
    let pb = RecordBatch::try_new(
        ps,
        vec![
            Arc::new(Int64Array::from(p.0)),
            Arc::new(Int64Array::from(p.1)),
            Arc::new(Int64Array::from(p.2)),
            utf8(p.3),
            utf8(p.4),
            Arc::new(Float64Array::from(p.5)),
            utf8(p.6),
            utf8(p.7),
            Arc::new(Float64Array::from(p.8)),
        ],
    )
    .unwrap();
    let hb = RecordBatch::try_new(hs, vec![Arc::new(Int64Array::from(h.0)), utf8(h.1), utf8(h.2), Arc::new(Float64Array::from(h.3)), Arc::new(Int64Array::from(h.4))]).unwrap();
    (pb, hb)
}

fn write(path: &Path, b: &RecordBatch) {
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), b.schema(), None).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
}

fn write_pop(dir: &Path, p: &RecordBatch, h: &RecordBatch) {
    write(&dir.join("persons.parquet"), p);
    write(&dir.join("households.parquet"), h);
}

/// Replace column `name` of `b`.
fn with_col(b: &RecordBatch, name: &str, col: ArrayRef) -> RecordBatch {
    let i = b.schema().index_of(name).unwrap();
    let mut cols = b.columns().to_vec();
    let mut fields: Vec<Field> = b.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[i] = Field::new(name, col.data_type().clone(), false);
    cols[i] = col;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

/// Load, turning a panic into a test failure with the payload.
fn load_no_panic(dir: &Path) -> Result<policy_twin::state::Population, String> {
    match catch_unwind(AssertUnwindSafe(|| input::load_dir(dir, &|_, _| {}))) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(p) => panic!("the loader panicked: {:?}", p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))),
    }
}

proptest! {
    // 48 cases each in CI; POLICY_TWIN_PROPTEST_CASES=N for a longer search by hand
    #![proptest_config(ProptestConfig { cases: std::env::var("POLICY_TWIN_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48), ..ProptestConfig::default() })]

    /// Any population within the input rules loads, and three months run on it.
    #[test]
    fn random_valid_populations_load_and_run(hhs in population()) {
        let d = tempfile::tempdir().unwrap();
        let (p, h) = batches(&hhs);
        write_pop(d.path(), &p, &h);
        let pop = load_no_panic(d.path()).map_err(|e| TestCaseError::fail(format!("valid population refused: {e}")))?;
        let n: usize = hhs.iter().map(|h| h.4.len()).sum();
        prop_assert_eq!(pop.persons.len(), n);
        let s = util::baseline();
        let mut e = util::engine(&pop, &s, 3);
        for _ in 0..3 {
            e.step();
        }
        prop_assert!(e.persons.len() <= n + 3 * n); // births at most one per woman a month
    }

    /// One broken value in a random row of a valid population: refused, naming the column.
    #[test]
    fn random_invalid_populations_are_refused_naming_the_column(hhs in population(), kind in 0usize..10, at in any::<prop::sample::Index>()) {
        let d = tempfile::tempdir().unwrap();
        let (p, h) = batches(&hhs);
        let (np, nh) = (p.num_rows(), h.num_rows());
        let (i, j) = (at.index(np), at.index(nh));
        let f64s = |b: &RecordBatch, c: &str| b.column_by_name(c).unwrap().as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec();
        let i64s = |b: &RecordBatch, c: &str| b.column_by_name(c).unwrap().as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        let strs = |b: &RecordBatch, c: &str| b.column_by_name(c).unwrap().as_any().downcast_ref::<StringArray>().unwrap().iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>();
        let (p2, h2, column) = match kind {
            0 => { let mut v = i64s(&p, "age"); v[i] = 111 + (i as i64 % 1000); (with_col(&p, "age", Arc::new(Int64Array::from(v))), h.clone(), "age") }
            1 => { let mut v = f64s(&p, "earnings"); v[i] = f64::NAN; (with_col(&p, "earnings", Arc::new(Float64Array::from(v))), h.clone(), "earnings") }
            2 => { let mut v = f64s(&p, "wealth"); v[i] = if i % 2 == 0 { f64::INFINITY } else { -1.0 }; (with_col(&p, "wealth", Arc::new(Float64Array::from(v))), h.clone(), "wealth") }
            3 => { let mut v = strs(&p, "sex"); v[i] = "unknown".into(); (with_col(&p, "sex", utf8(v.iter().map(|s| s.as_str()).collect())), h.clone(), "sex") }
            4 if np > 1 => { let mut v = i64s(&p, "person_id"); v[i] = v[(i + 1) % np]; (with_col(&p, "person_id", Arc::new(Int64Array::from(v))), h.clone(), "person_id") }
            5 => { let mut v = i64s(&p, "household_id"); v[i] = 999; (with_col(&p, "household_id", Arc::new(Int64Array::from(v))), h.clone(), "household_id") }
            6 => { let mut v = strs(&h, "region"); v[j] = "Atlantis".into(); (p.clone(), with_col(&h, "region", utf8(v.iter().map(|s| s.as_str()).collect())), "region") }
            7 => { let mut v = i64s(&h, "weight"); v[j] = if j % 2 == 0 { 0 } else { -3 }; (p.clone(), with_col(&h, "weight", Arc::new(Int64Array::from(v))), "weight") }
            8 => { let mut v = f64s(&h, "rent"); v[j] = -10.0; (p.clone(), with_col(&h, "rent", Arc::new(Float64Array::from(v))), "rent") }
            _ => { let mut v = i64s(&p, "person_id"); v[i] = -1; (with_col(&p, "person_id", Arc::new(Int64Array::from(v))), h.clone(), "person_id") }
        };
        write_pop(d.path(), &p2, &h2);
        match load_no_panic(d.path()) {
            Ok(_) => prop_assert!(false, "kind {} at {}/{} was accepted", kind, i, j),
            Err(e) => prop_assert!(e.contains(&format!("`{column}`")), "kind {kind}: `{e}` does not name `{column}`"),
        }
    }

    /// Bytes of a valid Parquet file overwritten at random places, or the file cut short:
    /// refused (or, where the bytes hit nothing that matters, loaded), never a panic.
    #[test]
    fn corrupted_and_truncated_parquet_never_panics(which in 0usize..2, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6), cut in prop::option::of(any::<prop::sample::Index>())) {
        let d = tempfile::tempdir().unwrap();
        util::synth_into(d.path(), 200, 5, 1);
        let f = d.path().join(["persons.parquet", "households.parquet"][which]);
        let mut bytes = std::fs::read(&f).unwrap();
        for (at, v) in &edits {
            let k = at.index(bytes.len());
            bytes[k] = *v;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        std::fs::write(&f, &bytes).unwrap();
        // a corrupted persons file can still decode, to values another rule refuses (a
        // household left with no persons): the error names one of the two files
        if let Err(e) = load_no_panic(d.path()) {
            prop_assert!(e.contains("persons.parquet") || e.contains("households.parquet"), "`{e}` does not name a file");
        }
    }

    /// A line of the baseline scenario replaced by junk, or a random byte string: a clear error
    /// (naming the file) or a valid scenario, never a panic.
    #[test]
    fn mutated_and_random_scenarios_never_panic(line in any::<prop::sample::Index>(), junk in prop::sample::select(vec![
        "x = 1", "unit = \"GBP/fortnight\"", "values = { 2030-01 = 1.0, 2020-01 = 2.0 }", "values = { 2025-01 = -5.0 }",
        "values = { 2025-01 = 1e300 }", "= = =", "[scenario", "name = 3", "values = { 2025-13 = 1.0 }", "baseline = \"missing.toml\"",
        "values = { 2025-01 = nan }", "values = { 2025-01 = \"ten\" }", "unit = \"per_1000_residents/month\", values = { 2025-01 = -1.0 }",
    ]), random in prop::collection::vec(any::<u8>(), 0..200)) {
        let d = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(util::root().join("scenarios/baseline.toml")).unwrap().replace("\"../data/", &format!("\"{}/data/", util::root().display()));
        let mut lines: Vec<&str> = text.lines().collect();
        let k = line.index(lines.len());
        lines[k] = junk;
        let p = d.path().join("s.toml");
        std::fs::write(&p, lines.join("\n")).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| Scenario::load(&p).map(|_| ()).map_err(|e| e.to_string())));
        prop_assert!(r.is_ok(), "the scenario parser panicked on line {k} = {junk}");
        if let Ok(Err(e)) = r {
            prop_assert!(e.contains("s.toml"), "`{e}` does not name the file");
        }
        std::fs::write(&p, &random).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| Scenario::load(&p).map(|_| ())));
        prop_assert!(matches!(r, Ok(Err(_))), "random bytes: not refused cleanly");
    }
}

#[test]
fn output_directory_with_other_files_is_refused_and_stale_results_are_removed() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    util::synth_into(&pop, 2000, 3, 1);
    let out = d.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("thesis.docx"), b"precious").unwrap();
    let args = ["run", "-q", "--population", "pop", "--years", "1", "--out", "out"];
    let (code, _, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds `thesis.docx`, which policy-twin did not write"), "{stderr}");
    assert_eq!(std::fs::read(out.join("thesis.docx")).unwrap(), b"precious");
    assert!(!out.join("aggregates.parquet").exists());
    // a file where the directory should be
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", "pop", "--years", "1", "--out", "out/thesis.docx"], d.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a directory"), "{stderr}");
    // a previous results directory is reused; a reform's tables from the last run are removed
    std::fs::remove_file(out.join("thesis.docx")).unwrap();
    let reform = util::root().join("scenarios/lha_uprated.toml");
    let base = util::root().join("scenarios/baseline.toml");
    let with = ["run", "-q", "--population", "pop", "--years", "1", "--out", "out", "--scenario", base.to_str().unwrap(), "--reform", reform.to_str().unwrap()];
    assert_eq!(util::run_twin(&with, d.path()).0, 0);
    assert!(out.join("comparison.parquet").exists());
    let (code, _, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(!out.join("comparison.parquet").exists() && !out.join("distribution.parquet").exists(), "stale reform tables left");
    // not writable (root may write anywhere: then see the read-only tmpfs test below)
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    if std::fs::write(ro.join("probe"), b"").is_err() {
        let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", "pop", "--years", "1", "--out", "ro/x"], d.path());
        assert_ne!(code, 0, "{stderr}");
        assert!(stderr.contains("ro/x"), "{stderr}");
    }
}

/// A small tmpfs mounted for a test, unmounted when dropped; `None` where mounting is not
/// permitted (not root, or a container without CAP_SYS_ADMIN).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(at).stderr(std::process::Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// An output directory on a read-only file system (which refuses root too), and one that runs
/// out of space part-way: the run fails naming the file and the reason, and the results of
/// the previous run in that directory are left as they were, byte for byte.
#[test]
fn an_unwritable_or_full_output_directory_fails_cleanly_and_keeps_earlier_results() {
    let d = tempfile::tempdir().unwrap();
    let Some(_ro) = Tmpfs::mount(&d.path().join("ro"), "ro,size=1m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
        return;
    };
    util::synth_into(&d.path().join("pop"), 2000, 3, 1);
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", "pop", "--years", "1", "--out", "ro/out"], d.path());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("ro/out") && stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(stderr.matches("os error 30").count(), 1, "the reason said once: {stderr}");

    // 512 KiB: a 1-year run's results fit (about 130 KB); monthly snapshots, or four replicates'
    // parts, do not
    let _full = Tmpfs::mount(&d.path().join("full"), "size=512k").expect("mounted once already");
    let args = ["run", "-q", "--population", "pop", "--years", "1", "--out", "full/out"];
    let (code, _, stderr) = util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    let out = d.path().join("full/out");
    let before: Vec<(String, Vec<u8>)> = ["aggregates.parquet", "capacity.parquet", "manifest.json"].iter().map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap())).collect();
    for extra in [&["--snapshot-every", "1"][..], &["--snapshot-every", "1", "--checkpoint-every", "2"][..], &["--replicates", "4"][..]] {
        let mut a = args.to_vec();
        a.extend_from_slice(extra);
        let (code, _, stderr) = util::run_twin(&a, d.path());
        assert_eq!(code, 1, "{extra:?}: {stderr}");
        assert!(stderr.contains("full/out/") && stderr.contains("No space left on device"), "{extra:?}: {stderr}");
        for (f, bytes) in &before {
            assert!(&std::fs::read(out.join(f)).unwrap() == bytes, "{f} changed by a failed run");
        }
        // nothing else left behind: no temporary file, no snapshot parts, no empty checkpoint
        // directory; only finished replicates' parts, whole, which the same command run again
        // skips
        let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "replicates").collect();
        names.sort();
        assert_eq!(names, ["aggregates.parquet", "capacity.parquet", "manifest.json"], "{extra:?}");
        if let Ok(parts) = std::fs::read_dir(out.join("replicates")) {
            for p in parts {
                let p = p.unwrap().path();
                assert!(p.join("part.json").exists(), "{extra:?}: an unfinished part {} left", p.display());
            }
        }
    }
}

#[test]
fn a_run_that_cannot_fit_in_memory_is_refused_before_it_starts() {
    let d = tempfile::tempdir().unwrap();
    util::synth_into(&d.path().join("pop"), 3000, 3, 1);
    let args = ["run", "-q", "--population", "pop", "--years", "1", "--out", "out"];
    let out = std::process::Command::new(util::twin()).args(args).current_dir(d.path()).env("POLICY_TWIN_TEST_AVAILABLE_MEMORY", "50000000").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("this run needs about") && stderr.contains("GiB is available") && stderr.contains("--no-memory-check"), "{stderr}");
    assert!(!d.path().join("out").exists(), "refused before creating anything");
    // with --no-memory-check it runs, and the manifest records the estimate and the peak (the
    // Khronos validation layer kept out: wgpu loads it in debug builds, as the tests' binary
    // is, where it is installed, about 18 MB more that a release build never loads; measured
    // on this machine, 107 MB peak with it against 89 MB without, for an estimate of 101 MB)
    let out = std::process::Command::new(util::twin())
        .args(args)
        .arg("--no-memory-check")
        .current_dir(d.path())
        .env("POLICY_TWIN_TEST_AVAILABLE_MEMORY", "50000000")
        .env("VK_LOADER_LAYERS_DISABLE", "VK_LAYER_KHRONOS_validation")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("out/manifest.json")).unwrap()).unwrap();
    let (est, peak) = (m["memory_estimate_bytes"].as_u64().unwrap(), m["peak_rss_bytes"].as_u64().unwrap());
    assert!(est >= peak, "estimate {est} below the measured peak {peak}");
}

/// `scripts/bad_inputs.py`: every kind of bad input the issue names (broken, truncated or
/// wrong Parquet files, wrong types, nulls, huge values, NaN and infinities, duplicate and
/// dangling ids, empty files, unknown keys, wrong units, dates out of order, negative
/// capacities, a missing baseline, a busy or wrong output directory, too little memory, a
/// damaged checkpoint, changed inputs on resume) exits 2 with a message, and none panics.
#[test]
fn every_bad_input_case_is_refused_with_a_message() {
    if !util::python_with("pyarrow") {
        return;
    }
    let out = std::process::Command::new("python3").arg(util::root().join("scripts/bad_inputs.py")).arg(util::twin()).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(table.lines().count() >= 40, "{table}");
}

/// A population that dies out: seven persons aged 110 (no births at that age), ten years.
/// Months run with households left empty and then with no persons at all (the property test
/// above found the household accounting reading the first person of an empty population);
/// on the GPU, when there is one, every month matches the CPU; the binary writes its files,
/// a reform's comparison and distribution included.
#[test]
fn a_population_that_dies_out_runs_to_the_end() {
    let hhs: Vec<H> = (0..5).map(|k| (k, 1 + k % 3, 500.0, 10, vec![(110, k % 2, 4, 0.0, 1, 2, 0.0); 1 + k % 2])).collect();
    let d = tempfile::tempdir().unwrap();
    let (p, h) = batches(&hhs);
    write_pop(d.path(), &p, &h);
    let pop = input::load_dir(d.path(), &|_, _| {}).unwrap();
    assert_eq!(pop.persons.len(), 7);
    let s = util::baseline();
    let mut e = util::engine(&pop, &s, 120);
    let mut months_with_none = 0;
    for _ in 0..120 {
        e.step();
        months_with_none += (e.persons.is_empty()) as u32;
    }
    assert!(months_with_none >= 12, "the population should die out with a year or more to run: {months_with_none} months with no one");
    crate::gpu::parity_on(&pop, "a population that dies out", 120, 0, Default::default(), &mut |_| {});
    let reform = util::root().join("scenarios/two_child_limit_abolished.toml");
    let (code, _, stderr) = util::run_twin(&["run", "-q", "--population", d.path().to_str().unwrap(), "--reform", reform.to_str().unwrap(), "--years", "10", "--snapshot-every", "12", "--out", "out"], d.path());
    assert_eq!(code, 0, "{stderr}");
    for f in ["aggregates.parquet", "comparison.parquet", "distribution.parquet", "snapshots.parquet", "manifest.json"] {
        assert!(d.path().join("out").join(f).exists(), "{f} written");
    }
}
