use std::path::{Path, PathBuf};

/// What went wrong, with the file it went wrong in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tiers given to [`crate::Store::open`] or [`crate::Reader::open`] cannot work.
    #[error("invalid rollup tiers: {0}")]
    Tiers(String),
    /// The file is not a SQLite database, or is damaged.
    #[error("{}: not a faultline store (not a SQLite database, or damaged): {source}", path.display())]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite database without faultline's tables: another program's, or empty.
    #[error(
        "{}: not a faultline store (a SQLite database of another program, or one never set up)",
        path.display()
    )]
    NotAStore { path: PathBuf },
    /// A faultline store this build does not read.
    #[error(
        "{}: store schema version {found}, this build reads version {expected}{hint}",
        path.display(),
        hint = if *found > *expected { " (written by a newer faultline)" } else { "" }
    )]
    Version {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    /// A stored value that does not decode (e.g. a latency sketch).
    #[error("{}: damaged {what}", path.display())]
    Corrupt { path: PathBuf, what: &'static str },
    /// Reading the file's size (or another file-system call) failed.
    #[error("{}: {what} failed: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// SQLite failed while doing `what` (open, schema, commit, a query...).
    #[error("{}: {what} failed: {source}", path.display())]
    Sql {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Wraps a SQLite error, telling a file that is no database apart from other failures.
    pub(crate) fn sql(path: &Path, what: &'static str, source: rusqlite::Error) -> StoreError {
        let path = path.to_path_buf();
        let bad_file = matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
        );
        if bad_file {
            StoreError::NotADatabase { path, source }
        } else {
            StoreError::Sql { path, what, source }
        }
    }
}

/// Attaches the file and the operation to a SQLite result.
pub(crate) trait Context<T> {
    fn ctx(self, path: &Path, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn ctx(self, path: &Path, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sql(path, what, e))
    }
}
