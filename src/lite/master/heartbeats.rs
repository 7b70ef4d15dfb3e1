//! HEARTBEAT on the master's RecordIO streams: a scheduler's SUBSCRIBE and an operator's.

use bytes::Bytes;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Sends `beat` (one encoded HEARTBEAT record) on the stream every `interval`, the first one
/// interval after now, until the stream closes or the master stops. Holds only a weak sender,
/// so the master dropping its end still closes the stream.
pub(super) fn spawn(
    stream: mpsc::WeakUnboundedSender<Bytes>,
    beat: Bytes,
    interval: Duration,
    stopped: CancellationToken,
) {
    crate::node_log::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopped.cancelled() => return,
            }
            let Some(tx) = stream.upgrade() else { return };
            if tx.send(beat.clone()).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::error::TryRecvError;

    const BEAT: Bytes = Bytes::from_static(b"beat");

    #[tokio::test(start_paused = true)]
    async fn a_beat_each_interval_from_one_interval_on_until_the_master_stops() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let stopped = CancellationToken::new();
        spawn(
            tx.downgrade(),
            BEAT,
            Duration::from_secs(15),
            stopped.clone(),
        );
        tokio::time::sleep(Duration::from_secs(14)).await;
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(rx.try_recv(), Ok(BEAT));
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(rx.try_recv(), Ok(BEAT));
        stopped.cancel();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[tokio::test(start_paused = true)]
    async fn the_beats_hold_no_stream_open() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        spawn(
            tx.downgrade(),
            BEAT,
            Duration::from_secs(15),
            CancellationToken::new(),
        );
        drop(tx);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}
