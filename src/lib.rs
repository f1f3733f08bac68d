//! policy-twin: a policy impacts digital twin.
//!
//! A monthly dynamic microsimulation of a national population: persons and households are
//! loaded from Parquet ([`input`]) or generated ([`synth`]), advanced month by month through the
//! stages listed in [`stages`] (CPU twins in [`cpu`]), and summed into weighted integer
//! aggregates written as Parquet ([`output`]). Policy is data: parameters come from a TOML
//! scenario ([`scenario`]) and rate tables from `data/` ([`tables`]).
//!
//! Determinism contract (MODEL.md §6): per-person state is integers, randomness is a
//! counter-based hash of (seed, person id, step, process) ([`rng`]), sums are integer, so the
//! outputs do not depend on thread count (and, with the GPU path, on the backend).
//!
//! This crate is a library; only the `twin` binary prints. Long work reports progress through
//! a callback.

pub mod chart;
pub mod checkpoint;
pub mod codes;
pub mod cpu;
pub mod data;
pub mod distribution;
pub mod engine;
pub mod error;
pub mod fixed;
pub mod gpu;
pub mod input;
pub mod measures;
pub mod memory;
pub mod merge;
pub mod month;
pub mod output;
pub mod report;
pub mod results;
pub mod params;
pub mod plan;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod simd;
pub mod stages;
pub mod summary;
pub mod state;
pub mod synth;
pub mod tables;

pub use error::{Error, Result};
