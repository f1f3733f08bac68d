//! Checkpoints and resume (`twin run --checkpoint-every`, `--resume`): a run killed with
//! SIGKILL after a checkpoint, or stopped with SIGINT, resumes to outputs identical (byte for
//! byte) to an uninterrupted run; a GPU run resumes on the CPU path; a damaged checkpoint or
//! changed inputs are refused. Every run here writes person snapshots every 2 months too, so
//! the snapshot parts a killed run leaves, and those a restarted run writes again, are checked
//! with the rest.

use crate::util;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const TABLES: [&str; 5] = ["aggregates.parquet", "comparison.parquet", "distribution.parquet", "capacity.parquet", "snapshots.parquet"];

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn args(&self, out: &str, backend: &str) -> Vec<String> {
        let s = util::root().join("scenarios");
        [
            "run", "-q", "--population", "pop", "--years", "2", "--backend", backend, "--out", out, "--snapshot-every", "2",
            "--scenario", s.join("baseline.toml").to_str().unwrap(),
            "--reform", s.join("two_child_limit_abolished.toml").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

/// A 4,000-person population and its uninterrupted run (baseline and a reform, 2 years, CPU).
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let f = Fixture { dir: tempfile::tempdir().unwrap() };
        util::synth_into(&f.path().join("pop"), 4000, 21, 4);
        let args = f.args("full", "cpu");
        let (code, _, stderr) = util::run_twin(&args.iter().map(String::as_str).collect::<Vec<_>>(), f.path());
        assert_eq!(code, 0, "{stderr}");
        f
    })
}

fn twin(cwd: &Path, args: &[String]) -> Command {
    let mut c = Command::new(util::twin());
    c.args(args).current_dir(cwd).env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

/// Start a checkpointed run that waits after its `n`-th checkpoint, then kill it (SIGKILL).
fn run_and_kill(out: &str, backend: &str, every: u32, n: u32) -> PathBuf {
    let f = fixture();
    let mut args = f.args(out, backend);
    args.extend(["--checkpoint-every".to_string(), every.to_string()]);
    let mut child = twin(f.path(), &args).env("POLICY_TWIN_TEST_HANG_AFTER_CHECKPOINT", n.to_string()).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("waiting to be killed") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no handler runs, nothing is cleaned up
    child.wait().unwrap();
    assert!(seen.contains(&format!("checkpoint {n} written")), "the run did not reach checkpoint {n}: {seen}");
    let dir = f.path().join(out);
    // killed: only the checkpoint, no result under a final name
    for t in TABLES {
        assert!(!dir.join(t).exists(), "{t} written before the run finished");
    }
    assert!(dir.join("checkpoint/checkpoint.bin").exists());
    assert!(dir.join("snapshot-parts").read_dir().unwrap().count() > 0, "no snapshot part before the kill");
    dir
}

fn resume(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["run".to_string(), "--resume".to_string(), dir.to_str().unwrap().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    // from another working directory: the checkpoint knows where the run started
    let out = twin(&std::env::temp_dir(), &args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_same_as_uninterrupted(dir: &Path) {
    for t in TABLES {
        let a = std::fs::read(fixture().path().join("full").join(t)).unwrap();
        let b = std::fs::read(dir.join(t)).unwrap_or_else(|_| panic!("{t} missing after resume"));
        assert!(a == b, "{t} differs from the uninterrupted run");
    }
    assert!(!dir.join("checkpoint").exists(), "checkpoint kept after the run completed");
    assert!(!dir.join("snapshot-parts").exists(), "snapshot parts kept after the run completed");
}

#[test]
fn killed_during_the_baseline_resumes_to_identical_outputs() {
    let dir = run_and_kill("killed-base", "cpu", 5, 2); // baseline, month 10
    let (code, stderr) = resume(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_as_uninterrupted(&dir);
}

#[test]
fn killed_during_a_reform_resumes_to_identical_outputs() {
    let dir = run_and_kill("killed-reform", "cpu", 7, 4); // baseline checkpoints at 7, 14, 21; then reform month 7
    let (code, stderr) = resume(&dir, &["-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_as_uninterrupted(&dir);
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["resumed_from"]["scenario"], "two_child_limit_abolished");
    assert_eq!(m["resumed_from"]["month"], 7);
}

#[test]
fn sigint_stops_at_a_month_end_with_a_checkpoint_and_resumes() {
    let f = fixture();
    let args = f.args("interrupted", "cpu");
    let child = twin(f.path(), &args).env("POLICY_TWIN_TEST_MONTH_DELAY_MS", "40").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped at the end of month") && stderr.contains("resume with: twin run --resume interrupted"), "{stderr}");
    let dir = f.path().join("interrupted");
    for t in TABLES {
        assert!(!dir.join(t).exists(), "{t} written by an interrupted run");
    }
    let (code, stderr) = resume(&dir, &["-q"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_as_uninterrupted(&dir);
}

#[test]
fn a_gpu_run_resumes_on_the_cpu_path() {
    if crate::gpu::test_gpu().is_none() {
        return;
    }
    let dir = run_and_kill("gpu-then-cpu", "gpu", 6, 3); // baseline month 18, on the GPU
    let (code, stderr) = resume(&dir, &["-q", "--backend", "cpu"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_as_uninterrupted(&dir);
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["backend_requested"], "cpu");
}

#[test]
fn a_damaged_checkpoint_or_changed_inputs_are_refused() {
    let dir = run_and_kill("damaged", "cpu", 6, 1);
    let ck = dir.join("checkpoint/checkpoint.bin");
    let bytes = std::fs::read(&ck).unwrap();
    // truncated
    std::fs::write(&ck, &bytes[..bytes.len() / 2]).unwrap();
    let (code, stderr) = resume(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a complete policy-twin checkpoint"), "{stderr}");
    // not a checkpoint at all
    std::fs::write(&ck, b"hello").unwrap();
    let (code, stderr) = resume(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("checkpoint"), "{stderr}");
    // no checkpoint
    let (code, stderr) = resume(&fixture().path().join("full"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no checkpoint"), "{stderr}");

    // the population changed since the checkpoint: refused, naming the SHA-256 check
    let f = fixture();
    let d = tempfile::tempdir().unwrap();
    util::synth_into(&d.path().join("pop"), 4000, 21, 4);
    let s = util::root().join("scenarios");
    let args: Vec<String> = ["run", "-q", "--population", "pop", "--years", "1", "--out", "out", "--checkpoint-every", "3", "--scenario", s.join("baseline.toml").to_str().unwrap()].iter().map(|s| s.to_string()).collect();
    let mut child = twin(d.path(), &args).env("POLICY_TWIN_TEST_HANG_AFTER_CHECKPOINT", "1").stderr(Stdio::piped()).spawn().unwrap();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line.unwrap().contains("waiting to be killed") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    util::synth_into(&d.path().join("pop"), 4000, 22, 4); // another seed: other people
    let (code, stderr) = resume(&d.path().join("out"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("inputs changed since the checkpoint was written (SHA-256 differ): persons.parquet, households.parquet;"), "{stderr}");
    let _ = f;
}

/// Run to completion with an injected GPU fault; returns (exit code, stderr).
fn run_with_fault(out: &str, backend: &str, fault: &str, every: Option<u32>) -> (i32, String) {
    let f = fixture();
    let mut args = f.args(out, backend);
    if let Some(e) = every {
        args.extend(["--checkpoint-every".to_string(), e.to_string()]);
    }
    let o = twin(f.path(), &args).env("POLICY_TWIN_TEST_AUTO_SOFTWARE", "1").env("POLICY_TWIN_TEST_GPU_FAULT", fault).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_gpu_fault_under_auto_continues_on_the_cpu_with_identical_results() {
    if crate::gpu::test_gpu().is_none() {
        return;
    }
    // out of memory in month 21 of the baseline: back to the checkpoint of month 18, on the CPU
    let (code, stderr) = run_with_fault("oom-auto", "auto", "oom@20", Some(6));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("the GPU failed in month 21") && stderr.contains("continued on the CPU path from month 18"), "{stderr}");
    // said when it happens, not only in the notes at the run's end
    let said = stderr.find("warning: the GPU failed in month 21").unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(said < stderr.find("note: baseline: the GPU failed").expect("a note"), "{stderr}");
    let dir = fixture().path().join("oom-auto");
    assert_same_as_uninterrupted(&dir);
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(m["backend_fallback"].as_str().unwrap().contains("out of memory"), "{m}");
    // a lost device without checkpoints: the scenario starts again on the CPU
    let (code, stderr) = run_with_fault("lost-auto", "auto", "lost@4", None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("continued on the CPU path from month 0"), "{stderr}");
    assert_same_as_uninterrupted(&fixture().path().join("lost-auto"));
    // the device lost when the year's income sums are read (after month 12 of the baseline):
    // back to the checkpoint of month 6, on the CPU
    let (code, stderr) = run_with_fault("sums-auto", "auto", "sums@12", Some(6));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("the GPU failed in month 12") && stderr.contains("reading the income sums") && stderr.contains("continued on the CPU path from month 6"), "{stderr}");
    assert_same_as_uninterrupted(&fixture().path().join("sums-auto"));
    // the device lost when the sums are read for a checkpoint (month 8, not a year's end):
    // back to the checkpoint of month 4
    let (code, stderr) = run_with_fault("ck-sums-auto", "auto", "sums@8", Some(4));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("the GPU failed in month 8") && stderr.contains("reading the income sums") && stderr.contains("continued on the CPU path from month 4"), "{stderr}");
    assert_same_as_uninterrupted(&fixture().path().join("ck-sums-auto"));
    // the device lost when the state is read for a checkpoint (month 9: no snapshot), for a
    // snapshot (month 10, every 2 months), and for the household facts (before month 1): back
    // to the checkpoints of months 6 and 9, and to the start
    for (out, fault, month, from) in [("ck-read-auto", "download@9", 9, 6), ("snap-read-auto", "download@10", 10, 9), ("facts-read-auto", "download@0", 1, 0)] {
        let (code, stderr) = run_with_fault(out, "auto", fault, Some(3));
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(&format!("the GPU failed in month {month}")) && stderr.contains("reading the state") && stderr.contains(&format!("continued on the CPU path from month {from}")), "{stderr}");
        assert_same_as_uninterrupted(&fixture().path().join(out));
    }
}

#[test]
fn a_gpu_fault_under_backend_gpu_stops_with_a_resumable_checkpoint() {
    if crate::gpu::test_gpu().is_none() {
        return;
    }
    let (code, stderr) = run_with_fault("lost-gpu", "gpu", "lost@9", Some(4));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("device lost") && stderr.contains("resume on the CPU path with: twin run --resume lost-gpu --backend cpu"), "{stderr}");
    let dir = fixture().path().join("lost-gpu");
    for t in TABLES {
        assert!(!dir.join(t).exists(), "{t} written by a failed run");
    }
    let (code, stderr) = resume(&dir, &["-q", "--backend", "cpu"]);
    assert_eq!(code, 0, "{stderr}");
    assert_same_as_uninterrupted(&dir);
}

/// With replicates: killed during the second replicate, resumed, the outputs (interval table
/// included) equal an uninterrupted run's; the finished replicate is not run again.
#[test]
fn killed_during_a_later_replicate_resumes_to_identical_outputs() {
    let f = fixture();
    let with_reps = |out: &str| -> Vec<String> {
        let mut a = f.args(out, "cpu");
        a.extend(["--replicates".to_string(), "2".to_string()]);
        a
    };
    let (code, _, stderr) = util::run_twin(&with_reps("reps-full").iter().map(String::as_str).collect::<Vec<_>>(), f.path());
    assert_eq!(code, 0, "{stderr}");
    // checkpoints every 12 months: 4 per replicate (2 for the baseline, 2 for the reform); the
    // 6th is replicate 1's baseline at month 24
    let mut args = with_reps("reps-killed");
    args.extend(["--checkpoint-every".to_string(), "12".to_string()]);
    let mut child = twin(f.path(), &args).env("POLICY_TWIN_TEST_HANG_AFTER_CHECKPOINT", "6").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line.unwrap().contains("waiting to be killed") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let dir = f.path().join("reps-killed");
    assert!(dir.join("replicates/r0000/part.json").exists(), "replicate 0 not written before the kill");
    assert!(!dir.join("replicates/r0001").exists());
    let (code, stderr) = resume(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("replicate 0: already written"), "{stderr}");
    for t in TABLES.iter().chain(&["intervals.parquet"]) {
        let a = std::fs::read(f.path().join("reps-full").join(t)).unwrap();
        let b = std::fs::read(dir.join(t)).unwrap_or_else(|_| panic!("{t} missing after resume"));
        assert!(a == b, "{t} differs from the uninterrupted run");
    }
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["resumed_from"]["replicate"], 1, "{m}");
}
