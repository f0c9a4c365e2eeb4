//! Small filesystem helpers shared by the loaders.

use std::path::Path;

use crate::{DataError, Result};

/// Checks that `dir` exists and is a directory.
pub(crate) fn require_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(DataError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DataError::NotFound {
            what: "data directory",
            path: dir.to_path_buf(),
        }),
        Err(e) => Err(DataError::io("reading", dir, e)),
    }
}

/// Reads a whole file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound {
                what: "data file",
                path: path.to_path_buf(),
            }
        } else {
            DataError::io("reading", path, e)
        }
    })
}
