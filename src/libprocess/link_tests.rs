//! A peer that dies under a message while something else answers at its address at once (a
//! restarted master): a strict link must report the exit, a lenient one deliver again.

use super::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Reads one HTTP request off `reader`; returns its path, or None at end of stream.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(path)
}

/// A peer that answers 202 to every message, except that the first connection is dropped
/// while its second message is read (the process died under it). Every path it was sent on
/// goes to the returned channel, answered or not.
async fn peer_dying_under_its_second_message() -> (Upid, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (paths_tx, paths) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((stream, _)) = listener.accept().await {
            let dies_under_second = std::mem::take(&mut first);
            let paths_tx = paths_tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut served = 0;
                while let Some(path) = read_request(&mut reader).await {
                    let _ = paths_tx.send(path);
                    served += 1;
                    if dies_under_second && served == 2 {
                        return;
                    }
                    let answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
                    if reader.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (Upid::new("master", "127.0.0.1", port), paths)
}

fn from() -> Upid {
    Upid::new("scheduler-1", "127.0.0.1", 1)
}

#[tokio::test]
async fn a_strict_peer_dying_under_a_message_has_exited_though_its_address_answers_again() {
    let (peer, mut paths) = peer_dying_under_its_second_message().await;
    let link = Link::open_strict(from(), peer, CancellationToken::new());
    assert!(link.send_and_wait("first", vec![1]).await);
    assert!(!link.exited().is_cancelled());

    // Dropped, as libprocess drops what it was sending when the socket breaks.
    assert!(!link.send_and_wait("second", vec![2]).await);
    assert!(link.exited().is_cancelled(), "the peer's exit went unseen");
    assert_eq!(paths.recv().await.as_deref(), Some("/master/first"));
    assert_eq!(paths.recv().await.as_deref(), Some("/master/second"));
    assert!(paths.try_recv().is_err(), "the message was sent again");
}

#[tokio::test]
async fn a_lenient_link_delivers_again_on_a_fresh_connection() {
    let (peer, mut paths) = peer_dying_under_its_second_message().await;
    let link = Link::open(from(), peer, CancellationToken::new());
    assert!(link.send_and_wait("first", vec![1]).await);
    assert!(link.send_and_wait("second", vec![2]).await);
    assert!(!link.exited().is_cancelled());
    assert_eq!(paths.recv().await.as_deref(), Some("/master/first"));
    assert_eq!(paths.recv().await.as_deref(), Some("/master/second"));
    assert_eq!(paths.recv().await.as_deref(), Some("/master/second"));
}
