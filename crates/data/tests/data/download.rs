//! The download path, against a local HTTP server on 127.0.0.1 that serves
//! a bounded number of requests and stops by itself.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use shadernet_data::cifar10::{TEST_FILE, TRAIN_FILES};
use shadernet_data::download::{self, CIFAR10_MD5, CIFAR10_URL};
use shadernet_data::{cifar10, DataError, Split};

use crate::common::*;

const PATH: &str = "/cifar-10-binary.tar.gz";

/// Serves `body` at [`PATH`] (404 elsewhere) for at most `max_requests`
/// requests or 20 seconds; the handle returns the number served.
fn serve(body: Vec<u8>, max_requests: usize) -> (String, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    let _ = answer(stream, &body);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
        served
    });
    (base, handle)
}

fn answer(mut s: TcpStream, body: &[u8]) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&req);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body): (&str, &[u8]) = if path == PATH {
        ("200 OK", body)
    } else {
        ("404 Not Found", b"not found")
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    s.flush()
}

/// A tar.gz laid out as the official archive, 2 records a file; `skip`
/// leaves one batch file out.
fn archive(skip: Option<&str>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("cifar-10-batches-bin/{name}"), data)
            .unwrap();
    };
    for (f, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
        if Some(*name) == skip {
            continue;
        }
        let mut bytes = Vec::new();
        for i in 0..2 {
            let k = f * 2 + i;
            bytes.extend(cifar_record(cifar_label(k), k));
        }
        add(name, &bytes);
    }
    add(
        "batches.meta.txt",
        b"c0\nc1\nc2\nc3\nc4\nc5\nc6\nc7\nc8\nc9\n",
    );
    add("readme.html", b"<p>test archive</p>");
    tar.into_inner().unwrap().finish().unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn official_source_is_the_default() {
    assert_eq!(
        CIFAR10_URL,
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    );
    assert_eq!(CIFAR10_MD5, "c32a1d4ab5d03f1284b67883e8d87530");
}

#[test]
fn good_md5_unpacks_the_files() {
    let body = archive(None);
    let md5 = md5_hex(&body).to_uppercase();
    let (base, server) = serve(body.clone(), 1);
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("data");
    let mut calls = Vec::new();
    let got = download::cifar10_checked(&dir, &format!("{base}{PATH}"), &md5, |d, total| {
        calls.push((d, total))
    })
    .unwrap();
    assert_eq!(server.join().unwrap(), 1);
    assert_eq!(got, dir.join("cifar-10-batches-bin"));
    // Only the data: no archive, temporary directory or readme left over.
    assert_eq!(entries(&dir), vec!["cifar-10-batches-bin"]);
    let mut want: Vec<String> = TRAIN_FILES.iter().map(|s| s.to_string()).collect();
    // As the official archive: readme.html beside the data.
    want.extend(["batches.meta.txt", "readme.html", TEST_FILE].map(String::from));
    want.sort();
    assert_eq!(entries(&got), want);
    let n = body.len() as u64;
    assert_eq!(calls.first(), Some(&(0, Some(n))));
    assert_eq!(calls.last(), Some(&(n, Some(n))));

    assert!(cifar10::is_present(&dir));
    let test = cifar10::load(&dir, Split::Test).unwrap();
    assert_eq!(test.len(), 2);
    assert_eq!(test.classes[3], "c3");
    assert_eq!(test.image_u8(1).unwrap(), &cifar_record(0, 11)[1..]);
    assert_eq!(cifar10::load(&dir, Split::Train).unwrap().len(), 10);

    // A second call finds the data and fetches nothing.
    let again = download::cifar10_checked(&dir, "http://127.0.0.1:9/none", "00", |_, _| {});
    assert_eq!(again.unwrap(), got);
}

#[test]
fn bad_md5_leaves_nothing() {
    let body = archive(None);
    let actual = md5_hex(&body);
    let (base, server) = serve(body, 2);
    let t = tempfile::tempdir().unwrap();
    let url = format!("{base}{PATH}");

    // A directory this call creates is removed again.
    let dir = t.path().join("new");
    let e = download::cifar10_checked(&dir, &url, CIFAR10_MD5, |_, _| {}).unwrap_err();
    match &e {
        DataError::Checksum {
            expected,
            actual: a,
            ..
        } => {
            assert_eq!(expected, CIFAR10_MD5);
            assert_eq!(a, &actual);
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("MD5"), "{e}");
    assert!(!dir.exists());

    // An existing directory is left as it was (empty).
    let dir = t.path().join("existing");
    std::fs::create_dir(&dir).unwrap();
    let e = download::cifar10(&dir, Some(&url), |_, _| {}).unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }), "{e}");
    assert!(entries(&dir).is_empty());
    assert_eq!(server.join().unwrap(), 2);
}

#[test]
fn http_error_leaves_nothing() {
    let (base, server) = serve(Vec::new(), 1);
    let t = tempfile::tempdir().unwrap();
    let e = download::cifar10_checked(t.path(), &format!("{base}/missing.tar.gz"), "00", |_, _| {})
        .unwrap_err();
    assert!(matches!(e, DataError::Download { .. }), "{e}");
    assert!(e.to_string().contains("404"), "{e}");
    assert!(entries(t.path()).is_empty());
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn archive_without_a_batch_file_leaves_nothing() {
    let body = archive(Some("test_batch.bin"));
    let md5 = md5_hex(&body);
    let (base, server) = serve(body, 1);
    let t = tempfile::tempdir().unwrap();
    let e =
        download::cifar10_checked(t.path(), &format!("{base}{PATH}"), &md5, |_, _| {}).unwrap_err();
    assert!(matches!(e, DataError::Archive { .. }), "{e}");
    assert!(e.to_string().contains("test_batch.bin"), "{e}");
    assert!(entries(t.path()).is_empty());
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn incomplete_destination_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    write_cifar(&t.path().join("cifar-10-batches-bin"), 1, None);
    std::fs::remove_file(t.path().join("cifar-10-batches-bin/data_batch_5.bin")).unwrap();
    let e = download::cifar10_checked(t.path(), "http://127.0.0.1:9/none", "00", |_, _| {})
        .unwrap_err();
    assert!(matches!(e, DataError::DestinationExists { .. }), "{e}");
    assert!(e.to_string().contains("data_batch_5.bin"), "{e}");
}
