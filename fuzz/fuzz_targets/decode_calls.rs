//! Every body a client can send mmrun's v1 APIs, in both encodings, and RecordIO streams:
//! decoding may fail (a 400), but must never panic, hang or blow up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mmrun::mesos::encoding::{Encoding, decode};
use mmrun::mesos::{agent_operator, executor, operator, recordio, scheduler};

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
    // A stream cut anywhere: feed it in two chunks.
    let mut decoder = recordio::Decoder::new();
    let split = data.len() / 2;
    if decoder.feed(&data[..split]).is_ok() {
        let _ = decoder.feed(&data[split..]);
    }
});
