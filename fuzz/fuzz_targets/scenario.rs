//! Fuzz the scenario parser: the input bytes are a scenario file (seed corpus: the files in
//! `scenarios/`, with their `../data` paths made absolute). Loading must return a scenario or an
//! error naming the file, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.toml");
    std::fs::write(&p, data).unwrap();
    if let Err(e) = policy_twin::scenario::Scenario::load(&p) {
        assert!(e.to_string().contains("s.toml"), "{e}");
    }
});
