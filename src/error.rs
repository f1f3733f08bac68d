//! The library's typed errors. Every input error names the file, the column (or key), the
//! first offending row where there is one, and the rule that was broken. The binary wraps
//! these in `anyhow` and prints them with their context.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A population file broke a rule of MODEL.md §1.
    #[error("{}: column `{column}`{}: {rule}", file.display(), row_text(*row))]
    Input { file: PathBuf, column: String, row: Option<u64>, rule: String },

    /// A population file that cannot be read as Parquet at all.
    #[error("{}: not a readable Parquet file: {detail}", file.display())]
    Unreadable { file: PathBuf, detail: String },

    /// A scenario file broke a rule: unknown key, bad value, wrong unit, dates out of order.
    #[error("{}: `{key}`: {rule}", file.display())]
    Scenario { file: PathBuf, key: String, rule: String },

    /// A data table (rates in `data/`) broke a rule.
    #[error("{}: {rule}{}", file.display(), row_text(*row))]
    Data { file: PathBuf, row: Option<u64>, rule: String },

    /// A request the engine cannot carry out (bad option combination, nothing to run).
    #[error("{0}")]
    Config(String),

    /// The GPU path failed: no adapter, a missing limit, a shader that does not validate, out
    /// of memory, a lost device, a CPU/GPU mismatch in a self-test.
    #[error("GPU: {0}")]
    Gpu(String),

    /// The run was stopped by a signal at the end of a month, after writing a checkpoint.
    #[error("interrupted after month {month}; checkpoint written to {}", checkpoint.display())]
    Interrupted { month: u32, checkpoint: PathBuf },

    /// (The I/O error is in the message, and deliberately not a `source`: printed with its
    /// chain it would be said twice.)
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },

    #[error("writing {}: {detail}", path.display())]
    Write { path: PathBuf, detail: String },
}

fn row_text(row: Option<u64>) -> String {
    match row {
        Some(r) => format!(", row {r}"),
        None => String::new(),
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), error: source }
    }
    pub fn input(file: impl Into<PathBuf>, column: &str, row: Option<u64>, rule: impl Into<String>) -> Self {
        Error::Input { file: file.into(), column: column.to_string(), row, rule: rule.into() }
    }
    pub fn scenario(file: impl Into<PathBuf>, key: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::Scenario { file: file.into(), key: key.into(), rule: rule.into() }
    }
    pub fn data(file: impl Into<PathBuf>, row: Option<u64>, rule: impl Into<String>) -> Self {
        Error::Data { file: file.into(), row, rule: rule.into() }
    }
    pub fn write(path: impl Into<PathBuf>, detail: impl std::fmt::Display) -> Self {
        Error::Write { path: path.into(), detail: detail.to_string() }
    }
}
