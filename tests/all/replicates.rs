//! Replicates, intervals and batch tasks (`twin run --replicates R --task i/N`, `twin merge`):
//! the interval table against sums of the aggregates, common random numbers narrowing the
//! interval of a reform's difference, and the merged output of N tasks equal, byte for byte,
//! to a single process's for N = 1, 2, 3, whether the task comes from `--task`, a Slurm array's
//! environment or a Kubernetes Indexed Job's.

use crate::util;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

const TABLES: [&str; 7] = ["aggregates.parquet", "capacity.parquet", "comparison.parquet", "distribution.parquet", "snapshots.parquet", "intervals.parquet", "manifest.json"];

struct Fixture {
    dir: tempfile::TempDir,
}

/// A 3,000-person population and a single-process run of 4 replicates (baseline and a reform,
/// 2 years, snapshots every 12 months).
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let f = Fixture { dir: tempfile::tempdir().unwrap() };
        util::synth_into(&f.dir.path().join("pop"), 3000, 17, 4);
        let (code, _, stderr) = util::run_twin(&args("single", 4), f.dir.path());
        assert_eq!(code, 0, "{stderr}");
        f
    })
}

fn args(out: &str, replicates: u32) -> Vec<&'static str> {
    let s = util::root().join("scenarios");
    let v: Vec<String> = [
        "run", "-q", "--population", "pop", "--years", "2", "--out", out, "--snapshot-every", "12", "--replicates", &replicates.to_string(),
        "--scenario", s.join("baseline.toml").to_str().unwrap(),
        "--reform", s.join("two_child_limit_abolished.toml").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.into_iter().map(|s| &*Box::leak(s.into_boxed_str())).collect()
}

fn twin(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new(util::twin());
    c.args(args).current_dir(cwd);
    for v in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX", "POLICY_TWIN_TASK_COUNT"] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    let o = c.output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout))
}

fn assert_same_tables(a: &Path, b: &Path) {
    for t in TABLES.iter().filter(|t| **t != "manifest.json") {
        let x = std::fs::read(a.join(t)).unwrap_or_else(|_| panic!("{t} missing in {}", a.display()));
        let y = std::fs::read(b.join(t)).unwrap_or_else(|_| panic!("{t} missing in {}", b.display()));
        assert!(x == y, "{t}: {} differs from {}", b.display(), a.display());
    }
    for leftover in ["replicates", "snapshot-parts", "tasks", "checkpoint"] {
        assert!(!b.join(leftover).exists(), "{leftover} left in {}", b.display());
    }
}

#[test]
fn tasks_merged_equal_a_single_process_for_one_two_and_three_tasks() {
    let f = fixture();
    let d = f.dir.path();
    let single = d.join("single");
    for n in 1..=3u32 {
        let out = format!("tasks{n}");
        for i in 0..n {
            let mut a = args(&out, 4);
            let t = format!("{i}/{n}");
            a.extend(["--task", &*Box::leak(t.into_boxed_str())]);
            let (code, text) = twin(d, &a, &[]);
            assert_eq!(code, 0, "{text}");
            assert!(text.contains(&format!("task {i}/{n}: wrote replicates")), "{text}");
        }
        assert!(!d.join(&out).join("aggregates.parquet").exists(), "a task wrote the merged output");
        let (code, text) = twin(d, &["merge", &out], &[]);
        assert_eq!(code, 0, "{text}");
        assert_same_tables(&single, &d.join(&out));
        let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join(&out).join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["tasks"], n);
        assert_eq!(m["replicates"], 4);
        assert_eq!(m["parts"].as_array().unwrap().len(), 4);
    }

    // the task from a Slurm array's environment (ids 5..7) and from a Kubernetes Indexed Job's
    for (out, envs) in [
        ("slurm", vec![vec![("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")], vec![("SLURM_ARRAY_TASK_ID", "6"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")], vec![("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")]]),
        ("k8s", vec![vec![("JOB_COMPLETION_INDEX", "0"), ("POLICY_TWIN_TASK_COUNT", "2")], vec![("JOB_COMPLETION_INDEX", "1"), ("POLICY_TWIN_TASK_COUNT", "2")]]),
    ] {
        for env in &envs {
            let (code, text) = twin(d, &args(out, 4), env);
            assert_eq!(code, 0, "{text}");
        }
        let (code, text) = twin(d, &["merge", out], &[]);
        assert_eq!(code, 0, "{text}");
        assert_same_tables(&single, &d.join(out));
    }
}

#[test]
fn merge_refuses_missing_replicates_and_parts_of_another_run() {
    let f = fixture();
    let d = f.dir.path();
    // task 1 of 3 never ran: replicate 1 is missing
    for i in [0, 2] {
        let mut a = args("gap", 4);
        let t = format!("{i}/3");
        a.extend(["--task", &*Box::leak(t.into_boxed_str())]);
        assert_eq!(twin(d, &a, &[]).0, 0);
    }
    let (code, text) = twin(d, &["merge", "gap"], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("replicates 1 (task 1/3) of 4 are missing"), "{text}");
    assert!(!d.join("gap/aggregates.parquet").exists());
    // the missing task run with another seed: another plan, refused
    let mut a = args("gap", 4);
    a.extend(["--task", "1/3", "--seed", "99"]);
    assert_eq!(twin(d, &a, &[]).0, 0);
    let (code, text) = twin(d, &["merge", "gap"], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("belongs to another run"), "{text}");
    // run again as it should have been: task 1 rewrites its replicate, the others are skipped
    let mut a = args("gap", 4);
    a.extend(["--task", "1/3"]);
    assert_eq!(twin(d, &a, &[]).0, 0);
    let mut a = args("gap", 4);
    a.extend(["--task", "0/3"]);
    let (code, text) = twin(d, &a, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("replicate 0: already written") && text.contains("replicate 3: already written"), "{text}");
    assert_eq!(twin(d, &["merge", "gap"], &[]).0, 0);
    assert_same_tables(&d.join("single"), &d.join("gap"));
    // nothing to merge; a bad task; checkpoints in a task
    let (code, text) = twin(d, &["merge", "pop"], &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no replicate parts"), "{text}");
    let mut a = args("bad", 4);
    a.extend(["--task", "3/3"]);
    let (code, text) = twin(d, &a, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("index must be below the count"), "{text}");
    let (code, text) = twin(d, &args("bad", 4), &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--task-count"), "{text}");
    // more tasks than replicates: refused (a task runs whole replicates)
    let mut a = args("spare", 4);
    a.extend(["--task", "4/5"]);
    let (code, text) = twin(d, &a, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("5 tasks for 4 replicates"), "{text}");
    // one replicate inside a Slurm array: an array of independent runs, not a plan's tasks
    let (code, text) = twin(d, &args("one-in-array", 1), &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "3")]);
    assert_eq!(code, 0, "{text}");
    assert!(d.join("one-in-array/aggregates.parquet").exists() && !d.join("one-in-array/replicates").exists(), "{text}");
    // a 3-task Slurm array whose task 2 failed, resubmitted alone (sbatch --array=2) with the
    // plan's count in POLICY_TWIN_TASK_COUNT
    for id in ["0", "1"] {
        let (code, text) = twin(d, &args("resubmit", 4), &[("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_COUNT", "3")]);
        assert_eq!(code, 0, "{text}");
    }
    let (code, text) = twin(d, &args("resubmit", 4), &[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "2"), ("SLURM_ARRAY_TASK_COUNT", "1"), ("POLICY_TWIN_TASK_COUNT", "3")]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("task 2/3: wrote replicates [2]"), "{text}");
    assert_eq!(twin(d, &["merge", "resubmit"], &[]).0, 0);
    assert_same_tables(&d.join("single"), &d.join("resubmit"));
    let mut a = args("bad", 4);
    a.extend(["--task", "0/2", "--checkpoint-every", "6"]);
    let (code, text) = twin(d, &a, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("checkpoints are not supported in a batch task"), "{text}");
}

/// National totals of one measure in the last month, per (scenario, replicate), read from
/// aggregates.parquet (independently of the code that writes the intervals).
fn last_month_totals(batches: &[RecordBatch], measure: &str) -> HashMap<(String, u32), i64> {
    let last = batches.iter().map(|b| b.column_by_name("month").unwrap().as_primitive::<Date32Type>().values().iter().copied().max().unwrap()).max().unwrap();
    let mut out = HashMap::new();
    for b in batches {
        let sc = b.column_by_name("scenario").unwrap().as_dictionary::<Int32Type>();
        let names = sc.values().as_string::<i32>();
        let rep = b.column_by_name("replicate").unwrap().as_primitive::<UInt32Type>();
        let month = b.column_by_name("month").unwrap().as_primitive::<Date32Type>();
        let v = b.column_by_name(measure).unwrap().as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if month.value(i) == last {
                *out.entry((names.value(sc.keys().value(i) as usize).to_string(), rep.value(i))).or_insert(0) += v.value(i);
            }
        }
    }
    out
}

#[test]
fn intervals_match_the_replicates_and_common_random_numbers_narrow_the_difference() {
    let f = fixture();
    let single = f.dir.path().join("single");
    let agg = util::read_parquet(&single.join("aggregates.parquet"));
    let measure = "universal_credit_pence";
    let totals = last_month_totals(&agg, measure);
    let reps: Vec<u32> = (0..4).collect();
    let base: Vec<f64> = reps.iter().map(|r| totals[&("baseline".to_string(), *r)] as f64).collect();
    let reform: Vec<f64> = reps.iter().map(|r| totals[&("two_child_limit_abolished".to_string(), *r)] as f64).collect();
    // the replicates are different draws
    assert!(base.windows(2).any(|w| w[0] != w[1]), "replicates identical: {base:?}");
    // replicate 0 is the run with the scenario's own seed
    let d = f.dir.path();
    let (code, text) = twin(d, &args("one", 1), &[]);
    assert_eq!(code, 0, "{text}");
    let one = last_month_totals(&util::read_parquet(&d.join("one/aggregates.parquet")), measure);
    assert_eq!(one[&("baseline".to_string(), 0)] as f64, base[0]);
    assert!(!d.join("one/intervals.parquet").exists(), "intervals with one replicate");

    // the interval table's row for this measure, All regions, last month
    let iv = util::read_parquet(&single.join("intervals.parquet"));
    let mut rows: HashMap<(String, String), Vec<f64>> = HashMap::new();
    let last = iv.iter().map(|b| b.column_by_name("month").unwrap().as_primitive::<Date32Type>().values().iter().copied().max().unwrap()).max().unwrap();
    for b in &iv {
        let s = |n: &str| -> Vec<String> {
            let d = b.column_by_name(n).unwrap().as_dictionary::<Int32Type>();
            let v = d.values().as_string::<i32>();
            d.keys().values().iter().map(|k| v.value(*k as usize).to_string()).collect()
        };
        let (sc, stat, region, meas) = (s("scenario"), s("statistic"), s("region"), s("measure"));
        let month = b.column_by_name("month").unwrap().as_primitive::<Date32Type>();
        let f = |n: &str| b.column_by_name(n).unwrap().as_primitive::<Float64Type>().clone();
        let cols: Vec<_> = ["mean", "sd", "p05", "p95", "sd_unpaired", "p05_unpaired", "p95_unpaired"].iter().map(|n| f(n)).collect();
        for i in 0..b.num_rows() {
            if region[i] == "All" && meas[i] == measure && month.value(i) == last {
                rows.insert((sc[i].clone(), stat[i].clone()), cols.iter().map(|c| if c.is_null(i) { f64::NAN } else { c.value(i) }).collect());
            }
        }
    }
    let lvl = &rows[&("baseline".to_string(), "level".to_string())];
    let mean = base.iter().sum::<f64>() / 4.0;
    assert!((lvl[0] - mean).abs() < 1e-6 * mean.abs().max(1.0), "mean {} vs {mean}", lvl[0]);
    let mut sorted = base.clone();
    sorted.sort_by(f64::total_cmp);
    // numpy.percentile(x, 5) of 4 values: x0 + 0.15 (x1 - x0)
    assert!((lvl[2] - (sorted[0] + 0.15 * (sorted[1] - sorted[0]))).abs() < 1e-6 * mean.abs().max(1.0));
    assert!(lvl[4].is_nan(), "unpaired columns are for differences only");

    let diff = &rows[&("two_child_limit_abolished".to_string(), "reform_minus_baseline".to_string())];
    let paired: Vec<f64> = reform.iter().zip(&base).map(|(a, b)| a - b).collect();
    assert!((diff[0] - paired.iter().sum::<f64>() / 4.0).abs() < 1.0);
    // common random numbers: the paired interval of the difference is narrower than the
    // unpaired one, and so is its standard deviation
    let (paired_width, unpaired_width) = (diff[3] - diff[2], diff[6] - diff[5]);
    assert!(paired_width < unpaired_width, "paired {paired_width} vs unpaired {unpaired_width}");
    assert!(diff[1] < diff[4], "sd paired {} vs unpaired {}", diff[1], diff[4]);
    assert!(diff[0] > 0.0, "abolishing the two-child limit raises universal credit");

    // twin summary prints the spread across replicates
    let (code, text) = twin(d, &["summary", "single"], &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("across 4 replicates") && text.contains("paired by replicate") && text.contains("unpaired (independent runs)"), "{text}");
    let (code, text) = twin(d, &["summary", "single", "--format", "json"], &[]);
    assert_eq!(code, 0, "{text}");
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["replicates"], 4);
    assert!(j["spread_last_period"].as_array().unwrap().iter().any(|x| x["unpaired"].is_object()));
}

/// docs/kubernetes/*.yaml, run as written but smaller: each index of the Indexed Job runs the
/// container's arguments with the environment Kubernetes gives it (JOB_COMPLETION_INDEX, and
/// the manifest's POLICY_TWIN_TASK_COUNT), in a directory laid out as the image's working
/// directory (the repository root: scenarios/ and data/), with a small population, 1 year and
/// 5 replicates; then the merge Job's arguments. The result equals one process's.
#[test]
fn the_kubernetes_manifests_run_as_written_on_a_smaller_plan() {
    let load = |name: &str| -> serde_json::Value {
        let path = util::root().join("docs/kubernetes").join(name);
        let o = Command::new("python3").args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"]).arg(&path).output();
        match o {
            Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).unwrap(),
            _ => {
                assert!(std::env::var("POLICY_TWIN_REQUIRE_PYTHON").as_deref() != Ok("1"), "POLICY_TWIN_REQUIRE_PYTHON=1 but python3 with PyYAML is missing");
                serde_json::Value::Null
            }
        }
    };
    let job = load("indexed-job.yaml");
    if job.is_null() {
        eprintln!("skipped: no python3 with PyYAML");
        return;
    }
    let merge_job = load("merge-job.yaml");
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    let env: HashMap<String, String> = c["env"].as_array().unwrap().iter().map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].as_str().unwrap().to_string())).collect();
    assert_eq!(env["POLICY_TWIN_TASK_COUNT"], completions.to_string(), "POLICY_TWIN_TASK_COUNT must equal completions");
    let mount = c["volumeMounts"][0]["mountPath"].as_str().unwrap().to_string();

    let d = tempfile::tempdir().unwrap();
    util::synth_into(&d.path().join("pop"), 3000, 23, 4);
    let results = d.path().join("results");
    let swap = |args: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        for i in 1..v.len() {
            match v[i - 1].as_str() {
                "--population" => v[i] = d.path().join("pop").display().to_string(),
                "--years" => v[i] = "1".into(),
                "--replicates" => v[i] = "5".into(),
                _ => {}
            }
        }
        v.into_iter().map(|a| a.replace(&mount, results.to_str().unwrap())).collect()
    };
    let task_args = swap(&c["args"]);
    let out = task_args[task_args.iter().position(|a| a == "--out").unwrap() + 1].clone();
    for i in 0..completions {
        let mut envs: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        envs.push(("JOB_COMPLETION_INDEX", i.to_string()));
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, text) = twin(&util::root(), &task_args.iter().map(String::as_str).collect::<Vec<_>>(), &envs);
        assert_eq!(code, 0, "index {i}: {text}");
        assert!(text.contains(&format!("task {i}/{completions} (Kubernetes)")), "{text}");
    }
    let merge_args = swap(&merge_job["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert_eq!(merge_args, ["merge", out.as_str()]);
    let (code, text) = twin(&util::root(), &merge_args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(code, 0, "{text}");
    // the same plan in one process
    let mut single = task_args.clone();
    let o = single.iter().position(|a| a == "--out").unwrap();
    single[o + 1] = d.path().join("single").display().to_string();
    single.push("-q".into());
    let (code, text) = twin(&util::root(), &single.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(code, 0, "{text}");
    for t in ["aggregates.parquet", "comparison.parquet", "distribution.parquet", "intervals.parquet"] {
        assert!(std::fs::read(d.path().join("single").join(t)).unwrap() == std::fs::read(Path::new(&out).join(t)).unwrap(), "{t} differs");
    }
}
