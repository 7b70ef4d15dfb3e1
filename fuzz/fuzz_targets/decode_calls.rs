//! Every body a client can send mmrun's v1 APIs, in both encodings, every libprocess message a
//! scheduler or executor driver can send the master or the agent, the pids they name, and
//! RecordIO streams: decoding may fail (a 400, or a dropped message), but must never panic,
//! hang or blow up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mmrun::mesos::encoding::{Encoding, decode};
use mmrun::libprocess::Upid;
use mmrun::mesos::internal::*;
use mmrun::mesos::{agent_operator, executor, operator, recordio, scheduler};

/// The driver messages the master and the agent decode (protobuf only: libprocess bodies).
fn decode_driver_messages(data: &[u8]) {
    let pb = Encoding::Protobuf;
    let _ = decode::<DriverCall>(pb, data);
    let _ = decode::<RegisterFrameworkMessage>(pb, data);
    let _ = decode::<ReregisterFrameworkMessage>(pb, data);
    let _ = decode::<UnregisterFrameworkMessage>(pb, data);
    let _ = decode::<DeactivateFrameworkMessage>(pb, data);
    let _ = decode::<ResourceRequestMessage>(pb, data);
    let _ = decode::<LaunchTasksMessage>(pb, data);
    let _ = decode::<KillTaskMessage>(pb, data);
    let _ = decode::<ReviveOffersMessage>(pb, data);
    let _ = decode::<StatusUpdateAcknowledgementMessage>(pb, data);
    let _ = decode::<ReconcileTasksMessage>(pb, data);
    let _ = decode::<FrameworkToExecutorMessage>(pb, data);
    let _ = decode::<ExecutorToFrameworkMessage>(pb, data);
    let _ = decode::<RegisterExecutorMessage>(pb, data);
    let _ = decode::<ReregisterExecutorMessage>(pb, data);
    let _ = decode::<StatusUpdateMessage>(pb, data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Upid>();
    }
}

fuzz_target!(|data: &[u8]| {
    for encoding in [Encoding::Json, Encoding::Protobuf] {
        let _ = decode::<scheduler::Call>(encoding, data);
        let _ = decode::<scheduler::Event>(encoding, data);
        let _ = decode::<executor::Call>(encoding, data);
        let _ = decode::<executor::Event>(encoding, data);
        let _ = decode::<operator::OperatorCall>(encoding, data);
        let _ = decode::<operator::OperatorResponse>(encoding, data);
        let _ = decode::<agent_operator::AgentCall>(encoding, data);
        let _ = decode::<agent_operator::AgentResponse>(encoding, data);
    }
    decode_driver_messages(data);
    // A stream cut anywhere: feed it in two chunks.
    let mut decoder = recordio::Decoder::new();
    let split = data.len() / 2;
    if decoder.feed(&data[..split]).is_ok() {
        let _ = decoder.feed(&data[split..]);
    }
});
