//! Fuzz the Parquet loader: the input bytes are a persons.parquet beside a valid
//! households.parquet (and, with the first byte odd, the other way round). Loading must return
//! a population or an error, never panic (`policy_twin::input` catches the parquet crate's
//! panics on corrupt pages). Seed corpus: `twin synth --persons 50 --out seed` and copy its
//! two files into `fuzz/corpus/load_population/`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn valid() -> &'static (Vec<u8>, Vec<u8>) {
    static V: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    V.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let opts = policy_twin::synth::SynthOptions { persons: 50, seed: 1, weight: 1, data_dir: data };
        policy_twin::synth::synth(&opts, d.path(), &|_, _| {}).unwrap();
        let (p, h) = policy_twin::input::paths(d.path());
        (std::fs::read(p).unwrap(), std::fs::read(h).unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // libfuzzer-sys aborts on every panic, even a caught one; the loader catches the
        // parquet crate's panics on corrupt data and reports the file as unreadable (as `twin`
        // does, whose hook also stays quiet about them), so only those are let through
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/parquet-")) {
                abort_hook(info);
            }
        }));
    });
    let (p, h) = valid();
    let d = tempfile::tempdir().unwrap();
    let (pp, hp) = policy_twin::input::paths(d.path());
    let swap = data.first().is_some_and(|b| b & 1 == 1);
    std::fs::write(&pp, if swap { p.as_slice() } else { data }).unwrap();
    std::fs::write(&hp, if swap { data } else { h.as_slice() }).unwrap();
    let _ = policy_twin::input::load_dir(d.path(), &|_, _| {});
});
