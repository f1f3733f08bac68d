//! policy-twin's integration tests: one test binary (as ripgrep does), modules by subject.
//!
//! - `policy`: hand-computed benefit and tax cases (tests/cases/policy.toml), OpenFisca style
//! - `stages`: each stage of the month step on its own, with statistical checks against the
//!   life table and the fertility schedule, the births prefix sum and the accounting identity
//! - `determinism`: same seed same files; 1 thread vs N threads; chunk sizes
//! - `validation`: every input rule refused with a message naming file, column, row and rule
//! - `scenario`: scenario files: unknown keys, units, ranges, reforms
//! - `services`: arrears and queues by hand, waiting-list conservation and capacity, capacity
//!   reforms' direction
//! - `reforms`: reform vs baseline with common random numbers: zero difference, direction
//! - `robust`: proptest: random valid populations run, random invalid ones are refused naming
//!   the column, corrupted Parquet and mutated scenarios never panic; output-directory and
//!   memory checks
//! - `synthetic`: the synthetic population against the ONS / EHS / LFS / FRS figures
//! - `e2e`: the `twin` binary on real files
//! - `analysts`: `twin report` in headless Chromium, `twin summary`, the Python example and
//!   the pyarrow / polars / DuckDB reader checks
//! - `checkpoint`: kill (SIGKILL) or interrupt (SIGINT) a run and resume it to identical
//!   outputs, a GPU run resumed on the CPU, damaged checkpoints and changed inputs refused
//! - `replicates`: replicates and their interval table, batch tasks (`--task`, Slurm and
//!   Kubernetes environments) merged to a single process's outputs byte for byte
//! - `gpu`: shader validation and layouts (everywhere), CPU/GPU parity (on an adapter)

mod util;

mod analysts;
mod checkpoint;
mod determinism;
mod e2e;
mod gpu;
mod policy;
mod reforms;
mod replicates;
mod robust;
mod scenario;
mod services;
mod stages;
mod synthetic;
mod validation;
