//! Hand-written HTTP/1.1 over a blocking `TcpStream`: what a bad client does (trickles headers, sends a body nobody
//! asked for, never finishes), which no SDK would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::ACCESS_KEY;

/// A parsed response head and its body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The head's lines after the status line, lower-cased.
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn closes(&self) -> bool {
        self.headers.contains("connection: close")
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// `x-amz-date` for now and its scope date.
pub fn amz_now() -> (String, String) {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let date = time::OffsetDateTime::now_utc().format(f).unwrap();
    let day = date[..8].to_owned();
    (date, day)
}

/// Headers that pass every header-only check (right key, right time, well-formed) with a signature that is wrong:
/// whatever is refused with them was refused before the signature could be checked.
pub fn plausible_auth(service: &str) -> String {
    let (date, day) = amz_now();
    format!(
        "X-Amz-Date: {date}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{day}/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={}\r\n",
        "0".repeat(64)
    )
}

/// Reads one response (head, then a `content-length` body).
pub fn read_reply(s: &mut TcpStream) -> std::io::Result<Reply> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let (status_line, headers) = head.split_once("\r\n").unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; length];
    s.read_exact(&mut body)?;
    Ok(Reply {
        status,
        headers: headers.to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Waits until the peer closes (EOF or reset); returns how long that took, or `None` if it stayed open `limit`.
pub fn time_to_close(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue, // e.g. a 408 before the close
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// Writes `request` and ignores failures: used by clients that keep sending after the server has answered.
pub fn write_ignoring(s: &mut TcpStream, bytes: &[u8]) -> bool {
    s.write_all(bytes).is_ok()
}

/// The process's resident set, from `/proc/self/status` (Linux).
pub fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
