use crate::EventTime;

/// The request was answered without any upstream attempt (`$upstream_addr` is `-`).
pub const FLAG_NO_UPSTREAM: u8 = 1;
/// The last upstream "address" is a pool name, not `host:port` or `unix:` (nginx logs the
/// pool when no live server was left).
pub const FLAG_POOL_ADDR: u8 = 2;
/// Several attempts were made and an earlier one failed (`502, 200`).
pub const FLAG_FAILED_OVER: u8 = 4;
/// The log format carries no upstream fields, so nothing is known about attempts.
pub const FLAG_BLIND: u8 = 8;
/// The upstream server is named but its status is not logged (Apache's
/// `%{BALANCER_WORKER_NAME}e`): an attempt was made, its answer is unknown.
pub const FLAG_NAMED_ONLY: u8 = 16;

/// One access-log line, borrowed from its bytes. A parser fills a reused `Record`; fields the
/// format does not carry stay empty (`b""`) or `None`, and `-` is turned into empty.
///
/// `\xHH` escapes are left as they are in the raw slices: keys stay stable and a raw `"`
/// can never appear inside a quoted field.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    pub time: Option<EventTime>,
    /// HTTP status sent to the client; 0 when absent.
    pub status: u16,
    pub method: &'a [u8],
    /// Request target as logged (path and query).
    pub path: &'a [u8],
    pub protocol: &'a [u8],
    pub host: &'a [u8],
    pub remote_addr: &'a [u8],
    pub user_agent: &'a [u8],
    pub referer: &'a [u8],
    pub forwarded_for: &'a [u8],
    pub request_id: &'a [u8],
    /// nginx `$connection`, the `*N` of the error log.
    pub connection: Option<u64>,
    pub bytes_sent: Option<u64>,
    /// Total request time in microseconds (`$request_time`, `%D`).
    pub request_time_us: Option<u64>,
    /// Raw `$upstream_addr` list.
    pub upstream_addr: &'a [u8],
    /// Raw `$upstream_status` list.
    pub upstream_status: &'a [u8],
    /// Raw `$upstream_response_time` list.
    pub upstream_response_time: &'a [u8],
    /// Raw `$upstream_connect_time` list.
    pub upstream_connect_time: &'a [u8],
    /// Raw `$upstream_header_time` list.
    pub upstream_header_time: &'a [u8],
}

impl<'a> Record<'a> {
    /// Resets every field so the record can be reused for the next line.
    pub fn clear(&mut self) {
        *self = Record::default();
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &'a [u8] {
        match self.path.iter().position(|&b| b == b'?') {
            Some(i) => &self.path[..i],
            None => self.path,
        }
    }
}
