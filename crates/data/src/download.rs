//! Downloading CIFAR-10: the official binary archive, checked against its
//! published MD5 and unpacked atomically.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use crate::cifar10::{self, RECORD, SUBDIR, TEST_FILE, TRAIN_FILES};
use crate::{DataError, Result};

/// The official CIFAR-10 binary archive.
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// MD5 of [`CIFAR10_URL`], as published with it.
pub const CIFAR10_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";

/// Downloads the official CIFAR-10 binary archive (or the same archive from
/// `url_override`, a mirror), checks it against [`CIFAR10_MD5`] and unpacks
/// it so that `dir/cifar-10-batches-bin/` holds the batch files. Returns that
/// directory.
///
/// `progress(done, total)` is called as bytes arrive (`total` when the
/// server sends a length). See [`cifar10_checked`] for the guarantees.
pub fn cifar10(
    dir: &Path,
    url_override: Option<&str>,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    cifar10_checked(
        dir,
        url_override.unwrap_or(CIFAR10_URL),
        CIFAR10_MD5,
        progress,
    )
}

/// As [`cifar10()`], from `url`, expecting the archive's MD5 to be `md5_hex`
/// (32 hex digits, any case).
///
/// - If `dir` already holds the six batch files (in `dir` or
///   `dir/cifar-10-batches-bin`), nothing is downloaded and their directory
///   is returned; if `dir/cifar-10-batches-bin` exists but is incomplete,
///   that is an error ([`DataError::DestinationExists`]).
/// - The archive is downloaded and unpacked in a temporary directory inside
///   `dir`, checked (MD5, then the six files and their sizes), and only then
///   renamed into place; on any failure (HTTP error, MD5 mismatch
///   [`DataError::Checksum`], bad archive) the temporary directory is
///   removed, as is `dir` itself if this call created it, so nothing
///   half-written is left behind.
pub fn cifar10_checked(
    dir: &Path,
    url: &str,
    md5_hex: &str,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf> {
    if cifar10::is_present(dir) {
        return cifar10::locate(dir);
    }
    let dest = dir.join(SUBDIR);
    if dest.exists() {
        let missing: Vec<&str> = TRAIN_FILES
            .into_iter()
            .chain([TEST_FILE])
            .filter(|f| !dest.join(f).is_file())
            .collect();
        return Err(DataError::DestinationExists {
            path: dest,
            problem: format!("missing {}", missing.join(", ")),
        });
    }

    let created_dir = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| DataError::io("creating", dir, e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".cifar-10-download-{}-{nanos}", std::process::id()));
    let mut guard = Cleanup {
        tmp: tmp.clone(),
        dir: created_dir.then(|| dir.to_path_buf()),
        armed: true,
    };
    std::fs::create_dir(&tmp).map_err(|e| DataError::io("creating", &tmp, e))?;

    let archive = tmp.join("cifar-10-binary.tar.gz");
    let actual = fetch(url, &archive, &mut progress)?;
    let expected = md5_hex.trim().to_ascii_lowercase();
    if actual != expected {
        return Err(DataError::Checksum {
            url: url.to_string(),
            expected,
            actual,
        });
    }

    let unpacked = tmp.join("unpacked");
    let bad = |message: String| DataError::Archive {
        url: url.to_string(),
        message,
    };
    let file = File::open(&archive).map_err(|e| DataError::io("opening", &archive, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
        .unpack(&unpacked)
        .map_err(|e| bad(e.to_string()))?;
    let batches = unpacked.join(SUBDIR);
    for name in TRAIN_FILES.into_iter().chain([TEST_FILE]) {
        let size = std::fs::metadata(batches.join(name))
            .map_err(|_| bad(format!("no {SUBDIR}/{name} in it")))?
            .len();
        if size == 0 || !size.is_multiple_of(RECORD as u64) {
            return Err(bad(format!(
                "{SUBDIR}/{name} is {size} bytes, not a non-zero multiple of {RECORD}"
            )));
        }
    }
    std::fs::rename(&batches, &dest).map_err(|e| DataError::io("moving into place", &dest, e))?;
    guard.succeeded();
    Ok(dest)
}

/// Removes the temporary directory (always) and the created data directory
/// (on failure) when dropped.
struct Cleanup {
    tmp: PathBuf,
    dir: Option<PathBuf>,
    armed: bool,
}

impl Cleanup {
    fn succeeded(&mut self) {
        self.armed = false;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
        if self.armed {
            if let Some(dir) = &self.dir {
                // Only succeeds if empty: never removes anything else.
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Whether `url`'s host is a loopback address (no proxy for those).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Downloads `url` into the file `to`, calling `progress`; returns the MD5
/// of what was received, lowercase hex.
fn fetch(url: &str, to: &Path, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<String> {
    let fail = |message: String| DataError::Download {
        url: url.to_string(),
        message,
    };
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)));
    if is_loopback(url) {
        config = config.proxy(None);
    }
    let agent: ureq::Agent = config.build().into();
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = response.body().content_length();
    let mut reader = response.into_body().into_reader();
    let file = File::create(to).map_err(|e| DataError::io("creating", to, e))?;
    let mut out = BufWriter::new(file);
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    progress(0, total);
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or(&[]);
        hasher.update(chunk);
        out.write_all(chunk)
            .map_err(|e| DataError::io("writing", to, e))?;
        done += n as u64;
        progress(done, total);
    }
    out.flush().map_err(|e| DataError::io("writing", to, e))?;
    if let Some(t) = total {
        if done != t {
            return Err(fail(format!("connection closed after {done} of {t} bytes")));
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("http://127.0.0.1:8080/x.tar.gz"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:9/x"));
        assert!(!is_loopback(super::CIFAR10_URL));
        assert!(!is_loopback("http://10.0.0.1/x"));
    }
}
