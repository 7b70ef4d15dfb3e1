//! RecordIO framing for Mesos event streams: each record is `<decimal length>\n<payload>`, with no
//! separator or trailer. HTTP chunk boundaries are unrelated to record boundaries, so the decoder
//! buffers until a whole record is there.

use bytes::{Buf, Bytes, BytesMut};

/// Frames one record.
pub fn encode(payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 8);
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(payload);
    out.freeze()
}

/// Records larger than this are refused rather than buffered without bound.
pub const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordIoError {
    #[error("RecordIO length header '{0}' is not a decimal number")]
    BadLength(String),
    #[error("RecordIO record of {0} bytes exceeds the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("RecordIO record of length 0; Mesos never sends one")]
    Empty,
}

#[derive(Default)]
pub struct Decoder {
    buffer: BytesMut,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Feeds one chunk and returns every record it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Bytes>, RecordIoError> {
        self.buffer.extend_from_slice(chunk);
        let mut records = Vec::new();
        loop {
            let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') else {
                if self.buffer.len() > 20 {
                    return Err(RecordIoError::BadLength(
                        String::from_utf8_lossy(&self.buffer[..20]).into_owned(),
                    ));
                }
                break;
            };
            let header = std::str::from_utf8(&self.buffer[..newline])
                .map_err(|_| RecordIoError::BadLength("<not utf-8>".into()))?
                .trim();
            let length: usize = header
                .parse()
                .map_err(|_| RecordIoError::BadLength(header.into()))?;
            if length == 0 {
                return Err(RecordIoError::Empty);
            }
            if length > MAX_RECORD_BYTES {
                return Err(RecordIoError::TooLarge(length));
            }
            if self.buffer.len() < newline + 1 + length {
                break;
            }
            self.buffer.advance(newline + 1);
            records.push(self.buffer.split_to(length).freeze());
        }
        Ok(records)
    }

    /// Bytes of an unfinished record still waiting for more input.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_records_joined_in_one_chunk() {
        let mut stream = Vec::new();
        for payload in [&b"{\"type\":\"HEARTBEAT\"}"[..], b"x", b"hello\nworld"] {
            stream.extend_from_slice(&encode(payload));
        }
        let mut d = Decoder::new();
        let records = d.feed(&stream).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(&records[2][..], b"hello\nworld");
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn records_split_across_chunks_at_every_offset() {
        let stream = [encode(b"first record"), encode(b"second")].concat();
        for split in 0..=stream.len() {
            let mut d = Decoder::new();
            let mut got = d.feed(&stream[..split]).unwrap();
            got.extend(d.feed(&stream[split..]).unwrap());
            assert_eq!(
                got,
                vec![Bytes::from("first record"), Bytes::from("second")]
            );
        }
        // One byte at a time, including through the length header.
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(d.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn rejects_garbage_headers() {
        assert_eq!(
            Decoder::new().feed(b"abc\n{}"),
            Err(RecordIoError::BadLength("abc".into()))
        );
        assert_eq!(Decoder::new().feed(b"0\n"), Err(RecordIoError::Empty));
        assert!(matches!(
            Decoder::new().feed(b"99999999999\n"),
            Err(RecordIoError::TooLarge(_))
        ));
        assert!(matches!(
            Decoder::new().feed(b"123456789012345678901234"),
            Err(RecordIoError::BadLength(_))
        ));
    }
}
