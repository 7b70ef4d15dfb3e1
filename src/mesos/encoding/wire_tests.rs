//! The direct path (`ser`, `de`) against the reflection path it replaced (`reflect`), which
//! is the specification: hand-written cases for each rule, then property-style checks on
//! seeded random input. Decoding must give the same serde values (or fail where the oracle
//! fails); encoding must give the oracle's bytes once both are put in field-number order
//! (the direct path writes fields in the serde type's order).
//!
//! Besides mmrun's schema, a small test schema (`t.All`) has a field of every protobuf type,
//! singular, repeated and packed, and recursive messages, which mmrun's schema lacks.

use super::schema::{self, Kind, Message, SCHEMA, Schema};
use super::transcode::TranscodeError;
use super::wire::{read_varint, write_varint};
use super::*;
use crate::mesos::internal::*;
use crate::mesos::{agent_operator, executor, operator, operator_event, scheduler};
use prost::Message as _;
use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
use prost_reflect::prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FieldOptions, FileDescriptorProto,
};
use prost_reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::LazyLock;

// ---------------------------------------------------------------------------------------
// The two paths, on JSON values, for any schema.

/// A schema and the descriptors it was built from.
struct Both {
    pool: DescriptorPool,
    schema: &'static Schema,
}

static MMRUN: LazyLock<Both> = LazyLock::new(|| Both {
    pool: descriptors::pool().clone(),
    schema: &SCHEMA,
});

static TEST: LazyLock<Both> = LazyLock::new(|| {
    let pool = test_pool();
    let schema = Box::leak(Box::new(Schema::build(&pool)));
    Both { pool, schema }
});

impl Both {
    fn desc(&self, name: &str) -> MessageDescriptor {
        self.pool.get_message_by_name(name).unwrap()
    }

    fn message(&self, name: &str) -> &'static Message {
        self.schema.message(name)
    }

    fn decode_new(&self, name: &str, bytes: &[u8]) -> Result<Value, TranscodeError> {
        Ok(de::from_bytes(self.schema, self.message(name), bytes)?)
    }

    fn decode_old(&self, name: &str, bytes: &[u8]) -> Result<Value, TranscodeError> {
        reflect::to_json(self.desc(name), bytes)
    }

    fn encode_new(
        &self,
        name: &str,
        json: &Value,
        strict: bool,
    ) -> Result<Vec<u8>, TranscodeError> {
        Ok(ser::to_bytes(
            self.schema,
            self.message(name),
            json,
            strict,
        )?)
    }

    fn encode_old(
        &self,
        name: &str,
        json: &Value,
        strict: bool,
    ) -> Result<Vec<u8>, TranscodeError> {
        reflect::to_protobuf(self.desc(name), json, strict)
    }

    /// Both paths decode `bytes` alike: the same JSON, or both an error.
    fn same_decode(&self, name: &str, bytes: &[u8]) -> Option<Value> {
        match (self.decode_new(name, bytes), self.decode_old(name, bytes)) {
            (Ok(new), Ok(old)) => {
                assert_eq!(new, old, "{name} decodes differently from {}", hex(bytes));
                Some(new)
            }
            (Err(_), Err(_)) => None,
            (new, old) => panic!(
                "{name}: the direct path gives {new:?}, reflection {old:?}, for {}",
                hex(bytes)
            ),
        }
    }

    /// Both paths encode `json` alike: the same bytes in field-number order, or both an error.
    fn same_encode(&self, name: &str, json: &Value, strict: bool) -> Option<Vec<u8>> {
        match (
            self.encode_new(name, json, strict),
            self.encode_old(name, json, strict),
        ) {
            (Ok(new), Ok(old)) => {
                assert_eq!(
                    canonical(self.schema, self.message(name), &new),
                    old,
                    "{name} (strict: {strict}) encodes differently: {json}"
                );
                Some(new)
            }
            (Err(_), Err(_)) => None,
            (new, old) => panic!(
                "{name} (strict: {strict}): the direct path gives {new:?}, reflection \
                 {old:?}, for {json}"
            ),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes with each message's fields stably sorted by number (the order prost writes),
/// nested messages too; values and repeated elements' order untouched.
fn canonical(schema: &Schema, message: &Message, bytes: &[u8]) -> Vec<u8> {
    let mut fields: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos, bytes.len()).unwrap();
        let (number, wire) = ((key >> 3) as u32, (key & 7) as u8);
        let mut out = Vec::new();
        write_varint(&mut out, key);
        let start = pos;
        match wire {
            schema::VARINT => {
                read_varint(bytes, &mut pos, bytes.len()).unwrap();
                out.extend_from_slice(&bytes[start..pos]);
            }
            schema::FIXED64 => {
                pos += 8;
                out.extend_from_slice(&bytes[start..pos]);
            }
            schema::FIXED32 => {
                pos += 4;
                out.extend_from_slice(&bytes[start..pos]);
            }
            schema::LEN => {
                let len = read_varint(bytes, &mut pos, bytes.len()).unwrap() as usize;
                let payload = &bytes[pos..pos + len];
                pos += len;
                let field = message.field_by_number(number).map(|i| &message.fields[i]);
                let payload = match field.map(|f| f.kind) {
                    Some(Kind::Message(m)) => {
                        canonical(schema, &schema.messages[m as usize], payload)
                    }
                    _ => payload.to_vec(),
                };
                write_varint(&mut out, payload.len() as u64);
                out.extend_from_slice(&payload);
            }
            _ => panic!("the encoders write no groups"),
        }
        fields.push((number, out));
    }
    fields.sort_by_key(|(number, _)| *number);
    fields.into_iter().flat_map(|(_, bytes)| bytes).collect()
}

// ---------------------------------------------------------------------------------------
// The test schema: every type, singular, repeated and packed; recursive messages.

const SCALARS: [(&str, Type); 15] = [
    ("double", Type::Double),
    ("float", Type::Float),
    ("int32", Type::Int32),
    ("int64", Type::Int64),
    ("uint32", Type::Uint32),
    ("uint64", Type::Uint64),
    ("sint32", Type::Sint32),
    ("sint64", Type::Sint64),
    ("fixed32", Type::Fixed32),
    ("fixed64", Type::Fixed64),
    ("sfixed32", Type::Sfixed32),
    ("sfixed64", Type::Sfixed64),
    ("bool", Type::Bool),
    ("string", Type::String),
    ("bytes", Type::Bytes),
];

fn test_pool() -> DescriptorPool {
    let field = |name: String, number: i32, label: Label, ty: Type, type_name: Option<&str>| {
        FieldDescriptorProto {
            name: Some(name),
            number: Some(number),
            label: Some(label as i32),
            r#type: Some(ty as i32),
            type_name: type_name.map(str::to_string),
            options: None,
            ..Default::default()
        }
    };
    let mut all = Vec::new();
    let kinds = SCALARS
        .iter()
        .map(|(n, t)| (n.to_string(), *t, None))
        .chain([
            ("color".to_string(), Type::Enum, Some(".t.Color")),
            ("inner".to_string(), Type::Message, Some(".t.Inner")),
        ]);
    for (i, (name, ty, type_name)) in kinds.enumerate() {
        let i = i as i32;
        all.push(field(
            format!("s_{name}"),
            1 + i,
            Label::Optional,
            ty,
            type_name,
        ));
        all.push(field(
            format!("r_{name}"),
            20 + i,
            Label::Repeated,
            ty,
            type_name,
        ));
        if !matches!(ty, Type::String | Type::Bytes | Type::Message) {
            let mut packed = field(format!("p_{name}"), 40 + i, Label::Repeated, ty, type_name);
            packed.options = Some(FieldOptions {
                packed: Some(true),
                ..Default::default()
            });
            all.push(packed);
        }
    }
    // A field numbered beyond the dense table's usual range.
    all.push(field(
        "far".into(),
        5000,
        Label::Optional,
        Type::Int32,
        None,
    ));
    let inner = vec![
        field("a".into(), 1, Label::Optional, Type::Int32, None),
        field("b".into(), 2, Label::Repeated, Type::String, None),
        field(
            "all".into(),
            3,
            Label::Optional,
            Type::Message,
            Some(".t.All"),
        ),
        field("need".into(), 4, Label::Required, Type::String, None),
    ];
    let file = FileDescriptorProto {
        name: Some("t.proto".into()),
        package: Some("t".into()),
        syntax: Some("proto2".into()),
        message_type: vec![
            DescriptorProto {
                name: Some("All".into()),
                field: all,
                ..Default::default()
            },
            DescriptorProto {
                name: Some("Inner".into()),
                field: inner,
                ..Default::default()
            },
        ],
        enum_type: vec![EnumDescriptorProto {
            name: Some("Color".into()),
            value: ["RED", "GREEN", "BLUE"]
                .iter()
                .enumerate()
                .map(|(i, n)| EnumValueDescriptorProto {
                    name: Some(n.to_string()),
                    number: Some(i as i32),
                    options: None,
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut pool = DescriptorPool::new();
    pool.add_file_descriptor_proto(file).unwrap();
    pool
}

// ---------------------------------------------------------------------------------------
// Hand-written cases, one rule each.

const HTTP_CHECK: &str = "mesos.v1.HealthCheck.HTTPCheckInfo";

#[test]
fn the_test_schema_is_what_the_tests_think() {
    let all = TEST.message("t.All");
    // Singular and repeated of 17 types, packed of 14 (not strings, bytes, messages), `far`.
    assert_eq!(all.fields.len(), 17 + 17 + 14 + 1);
    assert!(
        all.fields
            .iter()
            .any(|f| f.packed && f.kind == Kind::Sint64)
    );
    // mmrun's schema has no maps or groups, nothing packed.
    for message in &SCHEMA.messages {
        for field in &message.fields {
            assert_ne!(field.kind, Kind::Unsupported, "{}", field.name);
            assert!(!field.packed, "{}", field.name);
        }
    }
}

#[test]
fn repeated_scalars_packed_unpacked_and_scattered() {
    // statuses (4, repeated uint32): 200 unpacked, then port (1) between, then a packed run
    // of 204, 500, an empty packed run, then 201 unpacked again.
    let bytes = [
        0x20, 0xc8, 0x01, 0x08, 0x50, 0x22, 0x04, 0xcc, 0x01, 0xf4, 0x03, 0x22, 0x00, 0x20, 0xc9,
        0x01,
    ];
    let json = MMRUN.same_decode(HTTP_CHECK, &bytes).unwrap();
    assert_eq!(json, json!({"port": 80, "statuses": [200, 204, 500, 201]}));
    // A packed run cut inside a value, or longer than the message, is an error.
    assert!(
        MMRUN
            .same_decode(HTTP_CHECK, &[0x22, 0x02, 0xcc, 0x81])
            .is_none()
    );
    assert!(
        MMRUN
            .same_decode(HTTP_CHECK, &[0x22, 0x05, 0xcc, 0x01])
            .is_none()
    );
    // Only empty packed runs: no list at all.
    let json = MMRUN.same_decode(HTTP_CHECK, &[0x22, 0x00, 0x08, 1, 0x22, 0x00]);
    assert_eq!(json.unwrap(), json!({"port": 1}));
    // Packed where the field is not repeated: a wrong wire type.
    assert!(MMRUN.same_decode(HTTP_CHECK, &[0x0a, 0x01, 0x50]).is_none());
}

/// The fields of a message's bytes, each as its number and its bytes (key included).
fn fields_of(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let key = read_varint(bytes, &mut pos, bytes.len()).unwrap();
        match (key & 7) as u8 {
            schema::VARINT => {
                read_varint(bytes, &mut pos, bytes.len()).unwrap();
            }
            schema::FIXED64 => pos += 8,
            schema::FIXED32 => pos += 4,
            _ => {
                let len = read_varint(bytes, &mut pos, bytes.len()).unwrap();
                pos += len as usize;
            }
        }
        fields.push(((key >> 3) as u32, bytes[start..pos].to_vec()));
    }
    fields
}

#[test]
fn repeated_messages_scattered_through_a_message_are_gathered() {
    let event = offers_event(1);
    let offer = &event.offers.as_ref().unwrap().offers[0];
    let mut offer = offer.clone();
    offer.resources = crate::mesos::resources::Resources::new([
        crate::mesos::resources::Resource::scalar("cpus", 1.0),
        crate::mesos::resources::Resource::scalar("mem", 2.0),
    ])
    .into_vec();
    offer.attributes.push(offer.attributes[0].clone());
    offer.attributes[1].name = "zone".into();
    let bytes = encode_as("mesos.v1.Offer", &offer);
    // Interleave resources (5) and attributes (7), with other fields between them.
    let mut fields = fields_of(&bytes);
    let (mut listed, rest): (Vec<_>, Vec<_>) =
        fields.drain(..).partition(|(n, _)| *n == 5 || *n == 7);
    listed.sort_by_key(|(n, _)| *n);
    let order = [0, 2, 1, 3];
    let mut scattered = Vec::new();
    for (i, at) in order.iter().enumerate() {
        scattered.extend_from_slice(&listed[*at].1);
        if let Some((_, other)) = rest.get(i) {
            scattered.extend_from_slice(other);
        }
    }
    for (_, other) in rest.iter().skip(order.len()) {
        scattered.extend_from_slice(other);
    }
    let json = MMRUN.same_decode("mesos.v1.Offer", &scattered).unwrap();
    assert_eq!(json, serde_json::to_value(&offer).unwrap());
    let back: scheduler::Offer =
        de::from_bytes(&SCHEMA, SCHEMA.message("mesos.v1.Offer"), &scattered).unwrap();
    assert_eq!(back, offer);
}

fn encode_as<T: serde::Serialize>(name: &str, value: &T) -> Vec<u8> {
    ser::to_bytes(&SCHEMA, SCHEMA.message(name), value, true).unwrap()
}

#[test]
fn a_singular_message_given_in_parts_is_merged() {
    let offers = encode(Encoding::Protobuf, &offers_event(3)).unwrap();
    let json: Value = MMRUN
        .same_decode("mesos.v1.scheduler.Event", &offers)
        .unwrap();
    // One Event.offers (3) per offer, each with type (1) again: Offers.offers join up.
    let mut parts = Vec::new();
    for offer in json["offers"]["offers"].as_array().unwrap() {
        let one = encode_as(
            "mesos.v1.scheduler.Event.Offers",
            &json!({"offers": [offer]}),
        );
        parts.extend_from_slice(&[0x08, 2]);
        parts.push(0x1a);
        write_varint(&mut parts, one.len() as u64);
        parts.extend_from_slice(&one);
    }
    let event: scheduler::Event = decode(Encoding::Protobuf, &parts).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), json);
    assert!(typed::<scheduler::Event>(&parts));
}

#[test]
fn a_singular_field_twice_keeps_the_last_scalar_and_merges_messages() {
    // Resource: name "a", then name "b"; scalar {value 1} then scalar {} (merged: still 1);
    // type SCALAR given twice.
    let mut bytes = vec![0x0a, 1, b'a', 0x0a, 1, b'b', 0x10, 0, 0x10, 0];
    bytes.extend_from_slice(&[0x1a, 9, 0x09]);
    bytes.extend_from_slice(&1.0f64.to_le_bytes());
    bytes.extend_from_slice(&[0x1a, 0]);
    let json = MMRUN.same_decode("mesos.v1.Resource", &bytes).unwrap();
    assert_eq!(
        json,
        json!({"name": "b", "type": "SCALAR", "scalar": {"value": 1.0}})
    );
    // An overwritten string must still be UTF-8.
    let bad = [0x0a, 1, 0xff, 0x0a, 1, b'b', 0x10, 0];
    assert!(MMRUN.same_decode("mesos.v1.Resource", &bad).is_none());
}

/// A key: field `number`, wire type `wire`.
fn key(number: u32, wire: u8) -> Vec<u8> {
    let mut out = Vec::new();
    write_varint(&mut out, u64::from(number << 3 | u32::from(wire)));
    out
}

/// The number of a field of `t.All`.
fn all_field(name: &str) -> u32 {
    TEST.message("t.All").field_by_name(name).unwrap().number
}

#[test]
fn unknown_enum_values_are_dropped() {
    // Resource.type (2, required enum) = 100: dropped, so the field is unset.
    let bytes = [0x0a, 1, b'a', 0x10, 100];
    let json = MMRUN.same_decode("mesos.v1.Resource", &bytes).unwrap();
    assert_eq!(json, json!({"name": "a"}));
    let error = de::from_bytes::<crate::mesos::resources::Resource>(
        &SCHEMA,
        SCHEMA.message("mesos.v1.Resource"),
        &bytes,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("type"), "{error}");
    // The last value counts: known then unknown is unset, unknown then known is set.
    let json = MMRUN
        .same_decode("mesos.v1.Resource", &[0x10, 1, 0x10, 100])
        .unwrap();
    assert_eq!(json, json!({}));
    let json = MMRUN
        .same_decode("mesos.v1.Resource", &[0x10, 100, 0x10, 1])
        .unwrap();
    assert_eq!(json, json!({"type": "RANGES"}));
    // Repeated: unknown values leave the list, packed or not; a list left empty is absent.
    let mut bytes = Vec::new();
    for v in [1, 7, 2, 9] {
        bytes.extend(key(all_field("r_color"), schema::VARINT));
        bytes.push(v);
    }
    bytes.extend(key(all_field("p_color"), schema::LEN));
    bytes.extend([3, 2, 5, 0]);
    bytes.extend(key(all_field("r_color"), schema::LEN));
    bytes.extend([2, 8, 9]);
    let json = TEST.same_decode("t.All", &bytes).unwrap();
    assert_eq!(
        json,
        json!({"r_color": ["GREEN", "BLUE"], "p_color": ["BLUE", "RED"]})
    );
    let mut bytes = key(all_field("r_color"), schema::VARINT);
    bytes.push(7);
    assert_eq!(TEST.same_decode("t.All", &bytes).unwrap(), json!({}));
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let plain = encode(Encoding::Protobuf, &scheduler::Event::error("x")).unwrap();
    let mut bytes = vec![0x98, 0x06, 0x96, 0x01]; // 99: varint 150
    bytes.extend_from_slice(&plain[..2]);
    bytes.extend_from_slice(&[0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]); // 99: fixed64
    bytes.extend_from_slice(&[0x9a, 0x06, 2, 0xff, 0xff]); // 99: 2 bytes (not UTF-8)
    bytes.extend_from_slice(&[0x9d, 0x06, 1, 2, 3, 4]); // 99: fixed32
    // 99: a group holding a varint, a group 98 holding bytes, then its end.
    bytes.extend_from_slice(&[
        0x9b, 0x06, 0x08, 1, 0x93, 0x06, 0x0a, 0, 0x94, 0x06, 0x9c, 0x06,
    ]);
    bytes.extend_from_slice(&plain[2..]);
    let json = MMRUN
        .same_decode("mesos.v1.scheduler.Event", &bytes)
        .unwrap();
    assert_eq!(json, json!({"type": "ERROR", "error": {"message": "x"}}));
    let event: scheduler::Event = decode(Encoding::Protobuf, &bytes).unwrap();
    assert_eq!(event, scheduler::Event::error("x"));
    // Malformed unknown fields: a group closed by another number, an end without a start,
    // wire types 6 and 7, field number 0, a 64-bit key.
    for bad in [
        &[0x9b, 0x06, 0x94, 0x06][..],
        &[0x9c, 0x06],
        &[0x9e, 0x06, 0],
        &[0x9f, 0x06, 0],
        &[0x00, 0],
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0],
        &[0x9d, 0x06, 1, 2, 3],
    ] {
        assert!(
            MMRUN.same_decode("mesos.v1.scheduler.Event", bad).is_none(),
            "{bad:?}"
        );
    }
}

#[test]
fn set_optional_fields_are_encoded_even_when_zero() {
    // mesos-go refuses a Resource without its type: SCALAR is 0 and must be on the wire, as
    // must a 0.0 value, false and "".
    let resource = crate::mesos::resources::Resource {
        role: Some(String::new()),
        ..crate::mesos::resources::Resource::scalar("", 0.0)
    };
    let bytes = encode_as("mesos.v1.Resource", &resource);
    let mut expected = vec![0x0a, 0, 0x10, 0, 0x1a, 9, 0x09];
    expected.extend_from_slice(&0.0f64.to_le_bytes());
    expected.extend_from_slice(&[0x32, 0]);
    assert_eq!(bytes, expected);
    let json = json!({"s_bool": false, "s_int64": 0, "s_string": "", "s_color": "RED",
                      "s_inner": {}, "r_int32": [], "p_int32": []});
    let bytes = TEST.same_encode("t.All", &json, true).unwrap();
    assert_eq!(
        canonical(TEST.schema, TEST.message("t.All"), &bytes),
        [0x20, 0, 0x68, 0, 0x72, 0, 0x80, 0x01, 0, 0x8a, 0x01, 0]
    );
}

#[test]
fn encoding_follows_the_json_mapping_rules() {
    let cases = [
        // Keys by proto name or JSON name; null is unset; unknown keys skipped (not strict).
        json!({"sInt32": 5, "s_uint32": null, "r_string": null, "nope": {"x": [1]}}),
        // Numbers as strings, integral floats, doubles from integers and strings.
        json!({"s_int64": "-12", "s_uint64": 3.0, "s_double": 7, "s_float": "NaN",
               "r_double": ["Infinity", "-Infinity", 1.5, "2.5e3"]}),
        // Enums by name or number (any number); unknown names dropped from lists.
        json!({"s_color": 2, "r_color": ["GREEN", "PURPLE", 7], "p_color": ["BLUE", "X"]}),
        // Bytes: standard and URL-safe base64, padded or not.
        json!({"s_bytes": "-_8", "r_bytes": ["AA==", "AA", "+/8=", ""]}),
        // Every integer kind at its edges, packed and not.
        json!({"s_sint32": -2147483648_i64, "s_sint64": i64::MIN, "s_sfixed32": -1,
               "s_fixed64": u64::MAX, "s_fixed32": 4294967295_u64, "s_sfixed64": i64::MIN,
               "p_sint32": [-1, 1, 0], "p_sint64": [i64::MAX], "p_fixed32": [1, 2],
               "p_fixed64": [3], "p_sfixed32": [-3], "p_sfixed64": [-4], "p_bool": [true, false],
               "p_float": [1.25, -0.0], "p_double": [0.1], "p_uint64": [u64::MAX],
               "p_int32": [-1], "p_int64": [-1], "p_uint32": [1]}),
        // Nested and recursive messages, large enough for multi-byte lengths.
        json!({"s_inner": {"a": 1, "b": ["x".repeat(200), "y".repeat(20_000)],
                           "all": {"s_inner": {"need": "z"}, "r_inner": [{}, {"a": 2}]}}}),
        json!({"far": 7}),
    ];
    for case in &cases {
        TEST.same_encode("t.All", case, false).expect("encodes");
    }
    // What each refuses, as reflection refused it.
    let refused = [
        json!({"s_int32": 2147483648_i64}),
        json!({"s_int32": 1.5}),
        json!({"s_uint32": -1}),
        json!({"s_uint64": "x"}),
        json!({"s_bool": 1}),
        json!({"s_string": 1}),
        json!({"s_bytes": "***"}),
        json!({"s_color": 1.0}),
        json!({"s_color": true}),
        json!({"s_float": 1e300}),
        json!({"s_inner": 1}),
        json!({"s_inner": []}),
        json!({"r_int32": 1}),
        json!({"r_int32": [null]}),
        json!({"r_int32": [[1]]}),
        json!({"r_inner": {}}),
        json!({"s_int32": [1]}),
        json!(null),
        json!([]),
        json!("x"),
    ];
    for case in &refused {
        assert!(TEST.same_encode("t.All", case, false).is_none(), "{case}");
    }
    // Strict: unknown keys and enum names are errors.
    assert!(
        TEST.same_encode("t.All", &json!({"nope": 1}), true)
            .is_none()
    );
    assert!(
        TEST.same_encode("t.All", &json!({"s_color": "X"}), true)
            .is_none()
    );
    assert!(
        TEST.same_encode("t.All", &json!({"s_color": "X"}), false)
            .is_some()
    );
}

#[test]
fn every_type_decodes_as_reflection_did() {
    let json = json!({
        "s_double": -1.5, "s_float": 0.25, "s_int32": -7, "s_int64": i64::MIN,
        "s_uint32": u32::MAX, "s_uint64": u64::MAX, "s_sint32": -3, "s_sint64": -4,
        "s_fixed32": 5, "s_fixed64": 6, "s_sfixed32": -8, "s_sfixed64": -9, "s_bool": true,
        "s_string": "é", "s_bytes": "AAEC", "s_color": "BLUE",
        "r_double": ["NaN", "Infinity", 0.0], "r_float": ["-Infinity"],
        "p_int32": [1, -1], "p_sint64": [-5, 5], "r_bool": [true, false],
        "s_inner": {"a": 1, "need": "x", "all": {"r_inner": [{"need": ""}]}},
    });
    let bytes = TEST.same_encode("t.All", &json, true).unwrap();
    assert_eq!(TEST.same_decode("t.All", &bytes).unwrap(), json);
}

/// `depth` unknown groups (field 99) nested in each other, closed, after `prefix`.
fn nested_groups(prefix: &[u8], depth: usize) -> Vec<u8> {
    let mut bytes = prefix.to_vec();
    for _ in 0..depth {
        bytes.extend_from_slice(&[0x9b, 0x06]);
    }
    for _ in 0..depth {
        bytes.extend_from_slice(&[0x9c, 0x06]);
    }
    bytes
}

#[test]
fn nesting_is_limited_to_100_levels_as_prost_limits_it() {
    // Groups at the top level: 100 decode, 101 do not.
    let heartbeat = [0x08, 8];
    assert!(
        MMRUN
            .same_decode("mesos.v1.scheduler.Event", &nested_groups(&heartbeat, 100))
            .is_some()
    );
    assert!(
        MMRUN
            .same_decode("mesos.v1.scheduler.Event", &nested_groups(&heartbeat, 101))
            .is_none()
    );
    // Known messages count too: All.s_inner (17) → Inner.all (3) → ..., then groups.
    for levels in [10, 49, 50] {
        for groups in [0, 1, 2, 99, 100, 101] {
            let mut bytes = nested_groups(&[], groups);
            for level in 0..levels * 2 {
                let tag = if level % 2 == 0 { 0x1a } else { 0x8a };
                let mut outer = if level % 2 == 0 {
                    vec![tag]
                } else {
                    vec![tag, 0x01]
                };
                write_varint(&mut outer, bytes.len() as u64);
                outer.extend_from_slice(&bytes);
                bytes = outer;
            }
            // Inner needs `need`; decode as JSON values, where it may be missing.
            TEST.same_decode("t.All", &bytes);
        }
    }
    let deep = {
        let mut bytes = Vec::new();
        for level in 0..200 {
            let mut outer = if level % 2 == 0 {
                vec![0x1a]
            } else {
                vec![0x8a, 0x01]
            };
            write_varint(&mut outer, bytes.len() as u64);
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        bytes
    };
    assert!(TEST.same_decode("t.All", &deep).is_none());
    // Hostile: a million unclosed groups is an error, not a stack overflow.
    assert!(
        MMRUN
            .same_decode("mesos.v1.scheduler.Event", &vec![0x9b; 1_000_000])
            .is_none()
    );
}

#[test]
fn every_prefix_of_every_sample_decodes_as_reflection_did() {
    for sample in tests::all_samples() {
        let name = sample.descriptor().full_name().to_string();
        let bytes = sample.encode_to_vec();
        for end in 0..=bytes.len() {
            MMRUN.same_decode(&name, &bytes[..end]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Typed messages: the serde types through both paths.

fn offers_event(n: usize) -> scheduler::Event {
    let offers: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": {"value": format!("O{i}")}, "framework_id": {"value": "F"},
                   "agent_id": {"value": format!("S{i}")}, "hostname": format!("h{i}"),
                   "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0},
                                  "role": "*"}],
                   "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r"}}]})
        })
        .collect();
    serde_json::from_value(json!({"type": "OFFERS", "offers": {"offers": offers}})).unwrap()
}

/// Decodes `bytes` as `M` both ways; where both succeed, encodes the value both ways.
fn typed<M: WireMessage + std::fmt::Debug>(bytes: &[u8]) -> bool {
    let new = decode::<M>(Encoding::Protobuf, bytes);
    let old = reflect::from_protobuf::<M>(M::PROTO_NAME, bytes);
    let message = match (new, old) {
        (Ok(new), Ok(old)) => {
            let new_json = serde_json::to_value(&new).unwrap();
            assert_eq!(
                new_json,
                serde_json::to_value(&old).unwrap(),
                "{} decodes differently from {}",
                M::PROTO_NAME,
                hex(bytes)
            );
            new
        }
        (Err(_), Err(_)) => return false,
        (new, old) => panic!(
            "{}: the direct path gives {new:?}, reflection {old:?}, for {}",
            M::PROTO_NAME,
            hex(bytes)
        ),
    };
    let new = encode(Encoding::Protobuf, &message);
    let old = reflect::to_protobuf(descriptors::message(M::PROTO_NAME), &message, false);
    match (new, old) {
        (Ok(new), Ok(old)) => assert_eq!(
            canonical(&SCHEMA, SCHEMA.message(M::PROTO_NAME), &new),
            old,
            "{} encodes {message:?} differently",
            M::PROTO_NAME
        ),
        (Err(_), Err(_)) => {}
        (new, old) => panic!(
            "{}: the direct path gives {new:?}, reflection {old:?}, for {message:?}",
            M::PROTO_NAME
        ),
    }
    true
}

/// Every message type mmrun reads or writes, by its protobuf name.
fn typed_check(name: &str) -> fn(&[u8]) -> bool {
    macro_rules! by_name {
        ($($t:ty),* $(,)?) => {
            $(if name == <$t>::PROTO_NAME { return typed::<$t>; })*
        };
    }
    by_name!(
        scheduler::Call,
        scheduler::Event,
        executor::Call,
        executor::Event,
        operator::OperatorCall,
        operator::OperatorResponse,
        operator_event::OperatorEvent,
        agent_operator::AgentCall,
        agent_operator::AgentResponse,
        DriverCall,
        RegisterFrameworkMessage,
        ReregisterFrameworkMessage,
        FrameworkRegisteredMessage,
        FrameworkReregisteredMessage,
        UnregisterFrameworkMessage,
        DeactivateFrameworkMessage,
        ResourceRequestMessage,
        ResourceOffersMessage,
        LaunchTasksMessage,
        RescindResourceOfferMessage,
        ReviveOffersMessage,
        RunTaskMessage,
        KillTaskMessage,
        StatusUpdateMessage,
        StatusUpdateAcknowledgementMessage,
        LostSlaveMessage,
        ReconcileTasksMessage,
        FrameworkErrorMessage,
        ExecutorToFrameworkMessage,
        FrameworkToExecutorMessage,
        ExitedExecutorMessage,
        ShutdownExecutorMessage,
        RegisterExecutorMessage,
        ExecutorRegisteredMessage,
        ExecutorReregisteredMessage,
        ReconnectExecutorMessage,
        ReregisterExecutorMessage,
    );
    panic!("no serde type for {name}")
}

#[test]
fn the_samples_and_a_large_event_take_both_paths_alike() {
    for sample in tests::all_samples() {
        let name = sample.descriptor().full_name().to_string();
        assert!(typed_check(&name)(&sample.encode_to_vec()), "{name}");
    }
    let bytes = encode(Encoding::Protobuf, &offers_event(1000)).unwrap();
    assert!(typed::<scheduler::Event>(&bytes));
}

// ---------------------------------------------------------------------------------------
// Property-style: seeded random bytes and JSON, both paths compared.

/// A fixed seed, so a failure repeats; `MMRUN_WIRE_SEED=n` tries others.
fn seeded(n: u64) -> StdRng {
    let base: u64 = std::env::var("MMRUN_WIRE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    StdRng::seed_from_u64(base.wrapping_mul(1000).wrapping_add(n))
}

/// Random protobuf for a message of a schema: known fields with values of their type (now
/// and then an unknown enum number, invalid UTF-8 or a wrong wire type), unknown fields of
/// every wire type, repeated fields packed or not and scattered, singular fields repeated.
struct Gen<'s> {
    rng: StdRng,
    schema: &'s Schema,
}

impl Gen<'_> {
    fn message(&mut self, message: &Message, budget: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let n = self.rng.random_range(0..=10);
        for _ in 0..n {
            if message.fields.is_empty() || self.rng.random_bool(0.1) {
                self.unknown(&mut out, budget);
                continue;
            }
            let field = &message.fields[self.rng.random_range(0..message.fields.len())];
            let key = |wire: u8| u64::from(field.number << 3 | u32::from(wire));
            if self.rng.random_bool(0.01) {
                let wire = *[0u8, 1, 2, 5].choose(&mut self.rng).unwrap();
                write_varint(&mut out, key(wire));
                self.raw(&mut out, wire);
                continue;
            }
            if field.repeated && field.kind.packable() && self.rng.random_bool(0.4) {
                let mut run = Vec::new();
                for _ in 0..self.rng.random_range(0..4) {
                    self.value(&mut run, field.kind, budget);
                }
                write_varint(&mut out, key(schema::LEN));
                write_varint(&mut out, run.len() as u64);
                out.extend_from_slice(&run);
                continue;
            }
            let count = if field.repeated {
                self.rng.random_range(1..4)
            } else {
                1
            };
            for _ in 0..count {
                write_varint(&mut out, key(field.kind.wire_type()));
                self.value(&mut out, field.kind, budget);
            }
        }
        out
    }

    fn varint(&mut self) -> u64 {
        let choices = [
            0,
            1,
            2,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX,
            (-1i64) as u64,
            (-200i64) as u64,
            1 << 31,
        ];
        if self.rng.random_bool(0.7) {
            *choices.choose(&mut self.rng).unwrap()
        } else {
            self.rng.random()
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, kind: Kind, budget: u32) {
        match kind {
            Kind::Enum(e) => {
                let number = if self.rng.random_bool(0.8) {
                    // A known value: the schema's enums start at 0 or 1 and are small.
                    let mut n;
                    loop {
                        n = self.rng.random_range(0..12);
                        if self.schema.enums[e as usize].name_of(n).is_some() {
                            break;
                        }
                    }
                    n as u64
                } else {
                    *[100u64, (-1i64) as u64, 1 << 40]
                        .choose(&mut self.rng)
                        .unwrap()
                };
                write_varint(out, number);
            }
            Kind::Double => {
                let v = *[
                    0.0,
                    -0.0,
                    1.5,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    1e300,
                ]
                .choose(&mut self.rng)
                .unwrap();
                out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::Float => {
                let v = *[0.0f32, 0.1, f32::NAN, f32::NEG_INFINITY, f32::MAX]
                    .choose(&mut self.rng)
                    .unwrap();
                out.extend_from_slice(&v.to_le_bytes());
            }
            Kind::Fixed32 | Kind::Sfixed32 => {
                out.extend_from_slice(&(self.varint() as u32).to_le_bytes());
            }
            Kind::Fixed64 | Kind::Sfixed64 => {
                out.extend_from_slice(&self.varint().to_le_bytes());
            }
            Kind::String => {
                let text: &[u8] = if self.rng.random_bool(0.03) {
                    &[b'a', 0xc3]
                } else {
                    [
                        &b""[..],
                        b"x",
                        "é→".as_bytes(),
                        b"TASK_RUNNING",
                        b"q83vEjRWeJA=",
                    ]
                    .choose(&mut self.rng)
                    .unwrap()
                };
                write_varint(out, text.len() as u64);
                out.extend_from_slice(text);
            }
            Kind::Bytes => {
                let len = self.rng.random_range(0..6);
                write_varint(out, len as u64);
                for _ in 0..len {
                    out.push(self.rng.random());
                }
            }
            Kind::Message(m) => {
                let inner = if budget == 0 {
                    Vec::new()
                } else {
                    self.message(&self.schema.messages[m as usize], budget - 1)
                };
                write_varint(out, inner.len() as u64);
                out.extend_from_slice(&inner);
            }
            Kind::Unsupported => {}
            _ => {
                let v = self.varint();
                write_varint(out, v);
            }
        }
    }

    /// Some value of a wire type, whatever the field.
    fn raw(&mut self, out: &mut Vec<u8>, wire: u8) {
        match wire {
            schema::VARINT => {
                let v = self.varint();
                write_varint(out, v);
            }
            schema::FIXED64 => out.extend_from_slice(&self.varint().to_le_bytes()),
            schema::FIXED32 => out.extend_from_slice(&(self.varint() as u32).to_le_bytes()),
            _ => {
                let len = self.rng.random_range(0..4);
                write_varint(out, len);
                for _ in 0..len {
                    out.push(self.rng.random());
                }
            }
        }
    }

    fn unknown(&mut self, out: &mut Vec<u8>, budget: u32) {
        let number: u32 = self.rng.random_range(6000..6010);
        let wire = *[0u8, 1, 2, 3, 5].choose(&mut self.rng).unwrap();
        write_varint(out, u64::from(number << 3 | u32::from(wire)));
        if wire == schema::START_GROUP {
            if budget > 0 {
                for _ in 0..self.rng.random_range(0..3) {
                    self.unknown(out, budget - 1);
                }
            }
            write_varint(out, u64::from(number << 3 | u32::from(schema::END_GROUP)));
        } else {
            self.raw(out, wire);
        }
    }

    /// The bytes, now and then damaged: cut short, a byte changed, a byte inserted.
    fn damage(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        if bytes.is_empty() || self.rng.random_bool(0.7) {
            return bytes;
        }
        let at = self.rng.random_range(0..bytes.len());
        match self.rng.random_range(0..3) {
            0 => bytes.truncate(at),
            1 => bytes[at] = self.rng.random(),
            _ => bytes.insert(at, self.rng.random()),
        }
        bytes
    }
}

/// Rewrites valid bytes of a message without changing what they mean to prost, or only as
/// proto2 allows: fields shuffled (repeated ones scattered), nested messages split into two
/// occurrences (merged back on decode), unknown fields added, repeated scalars packed.
fn shuffle(rng: &mut StdRng, schema: &Schema, message: &Message, bytes: &[u8]) -> Vec<u8> {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let key = read_varint(bytes, &mut pos, bytes.len()).unwrap();
        let (number, wire) = ((key >> 3) as u32, (key & 7) as u8);
        let field = message.field_by_number(number).map(|i| &message.fields[i]);
        let start = pos;
        let mut out = Vec::new();
        match wire {
            schema::VARINT => {
                read_varint(bytes, &mut pos, bytes.len()).unwrap();
                if let Some(f) = field.filter(|f| f.repeated) {
                    // A packed run of one value.
                    if rng.random_bool(0.3) {
                        write_varint(&mut out, u64::from(f.number << 3 | 2));
                        write_varint(&mut out, (pos - start) as u64);
                        out.extend_from_slice(&bytes[start..pos]);
                        fields.push(out);
                        continue;
                    }
                }
                write_varint(&mut out, key);
                out.extend_from_slice(&bytes[start..pos]);
            }
            schema::FIXED64 | schema::FIXED32 => {
                pos += if wire == schema::FIXED64 { 8 } else { 4 };
                write_varint(&mut out, key);
                out.extend_from_slice(&bytes[start..pos]);
            }
            _ => {
                let len = read_varint(bytes, &mut pos, bytes.len()).unwrap() as usize;
                let payload = &bytes[pos..pos + len];
                pos += len;
                match field.map(|f| (f.kind, f.repeated)) {
                    Some((Kind::Message(m), repeated)) => {
                        let nested = &schema.messages[m as usize];
                        let payload = shuffle(rng, schema, nested, payload);
                        // A singular message in two parts, cut between fields.
                        let parts = if !repeated && rng.random_bool(0.3) {
                            let mut cut = 0;
                            let mut p = 0;
                            let target = rng.random_range(0..=payload.len());
                            while p < payload.len() && p < target {
                                let k = read_varint(&payload, &mut p, payload.len()).unwrap();
                                match (k & 7) as u8 {
                                    schema::VARINT => {
                                        read_varint(&payload, &mut p, payload.len()).unwrap();
                                    }
                                    schema::FIXED64 => p += 8,
                                    schema::FIXED32 => p += 4,
                                    _ => {
                                        let l =
                                            read_varint(&payload, &mut p, payload.len()).unwrap();
                                        p += l as usize;
                                    }
                                }
                                cut = p;
                            }
                            vec![payload[..cut].to_vec(), payload[cut..].to_vec()]
                        } else {
                            vec![payload]
                        };
                        for part in parts {
                            let mut out = Vec::new();
                            write_varint(&mut out, key);
                            write_varint(&mut out, part.len() as u64);
                            out.extend_from_slice(&part);
                            fields.push(out);
                        }
                        continue;
                    }
                    _ => {
                        write_varint(&mut out, key);
                        write_varint(&mut out, len as u64);
                        out.extend_from_slice(payload);
                    }
                }
            }
        }
        fields.push(out);
    }
    // Occurrences of one number keep their order (the last value wins, lists keep their
    // order); the fields of different numbers interleave at random.
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.shuffle(rng);
    let number = |i: usize| {
        let mut pos = 0;
        read_varint(&fields[i], &mut pos, fields[i].len()).unwrap() >> 3
    };
    let mut numbers: Vec<u64> = order.iter().map(|&i| number(i)).collect();
    numbers.sort();
    numbers.dedup();
    for n in numbers {
        let places: Vec<usize> = (0..order.len())
            .filter(|&at| number(order[at]) == n)
            .collect();
        let mut own: Vec<usize> = places.iter().map(|&at| order[at]).collect();
        own.sort();
        for (at, i) in places.into_iter().zip(own) {
            order[at] = i;
        }
    }
    let mut out = Vec::new();
    for i in order {
        if rng.random_bool(0.05) {
            out.extend_from_slice(&[0xd8, 0x05, 1]); // unknown 91: varint 1
        }
        out.extend_from_slice(&fields[i]);
    }
    out
}

#[test]
fn random_bytes_decode_as_reflection_decoded_them() {
    let mut gen_all = Gen {
        rng: seeded(1),
        schema: TEST.schema,
    };
    let mut decoded = 0;
    for _ in 0..3000 {
        let bytes = gen_all.message(TEST.message("t.All"), 3);
        let bytes = gen_all.damage(bytes);
        decoded += usize::from(TEST.same_decode("t.All", &bytes).is_some());
    }
    assert!(decoded > 1000, "only {decoded} of the random t.All decoded");

    let mut gen_mmrun = Gen {
        rng: seeded(2),
        schema: &SCHEMA,
    };
    for name in [
        "mesos.v1.scheduler.Call",
        "mesos.v1.scheduler.Event",
        "mesos.v1.master.Response",
        "mesos.v1.master.Event",
        "mesos.v1.agent.Response",
        "mesos.internal.ExecutorRegisteredMessage",
    ] {
        for _ in 0..300 {
            let bytes = gen_mmrun.message(SCHEMA.message(name), 4);
            let bytes = gen_mmrun.damage(bytes);
            MMRUN.same_decode(name, &bytes);
            typed_check(name)(&bytes);
        }
    }
}

#[test]
fn rewritten_samples_decode_and_encode_as_reflection_did() {
    let mut rng = seeded(3);
    let mut typed_ok = 0;
    for sample in tests::all_samples() {
        let name = sample.descriptor().full_name().to_string();
        let message = SCHEMA.message(&name);
        let bytes = sample.encode_to_vec();
        let check = typed_check(&name);
        for round in 0..12 {
            let mut rewritten = shuffle(&mut rng, &SCHEMA, message, &bytes);
            // The meaning is the same: the oracle says so.
            assert_eq!(
                MMRUN.decode_old(&name, &rewritten).unwrap(),
                MMRUN.decode_old(&name, &bytes).unwrap(),
                "{name}: the rewrite changed the message"
            );
            if round % 3 == 2 {
                let mut g = Gen {
                    rng: seeded(100 + round),
                    schema: &SCHEMA,
                };
                rewritten = g.damage(rewritten);
            }
            MMRUN.same_decode(&name, &rewritten);
            typed_ok += usize::from(check(&rewritten));
        }
    }
    assert!(typed_ok > 500, "only {typed_ok} rewritten samples decoded");
}

/// Random changes to a JSON value of the kinds the JSON mapping cares about: numbers as
/// strings or floats, strings as numbers, nulls, unknown keys, JSON names, enum numbers or
/// unknown names, scalars where lists are expected and the reverse.
fn perturb(rng: &mut StdRng, value: &mut Value, depth: u32) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if rng.random_bool(0.05) {
                    map.insert(format!("{key}_unknown"), json!({"x": [1, null]}));
                }
                if rng.random_bool(0.05) {
                    let v = map.remove(&key).unwrap();
                    map.insert(camel(&key), v);
                    continue;
                }
                if rng.random_bool(0.03) {
                    map.insert(key.clone(), Value::Null);
                }
                perturb(rng, map.get_mut(&key).unwrap(), depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                perturb(rng, item, depth + 1);
            }
            if rng.random_bool(0.03) {
                *value = items.first().cloned().unwrap_or(Value::Null);
            }
        }
        Value::Number(n) => {
            let n = n.clone();
            *value = match rng.random_range(0..12) {
                0 => Value::String(n.to_string()),
                1 => json!(n.as_f64().unwrap_or(0.0)),
                2 => json!(n.as_f64().unwrap_or(0.0) + 0.5),
                3 => json!(-1),
                4 => json!([n]),
                5 => json!(u64::MAX),
                _ => Value::Number(n),
            };
        }
        Value::String(s) => {
            let is_enum = s
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                && !s.is_empty();
            *value = match rng.random_range(0..14) {
                0 if is_enum => json!("NOT_IN_THE_SCHEMA"),
                1 if is_enum => json!(1),
                2 => json!(7),
                3 => json!(s.replace('=', "")),
                4 => json!(s.replace('+', "-")),
                5 => json!(true),
                _ => Value::String(s.clone()),
            };
        }
        Value::Bool(b) => {
            if rng.random_bool(0.1) {
                *value = json!(if *b { 1 } else { 0 });
            }
        }
        Value::Null => {}
    }
    if depth > 0 && rng.random_bool(0.01) {
        *value = json!({});
    }
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn perturbed_json_encodes_as_reflection_encoded_it() {
    let mut rng = seeded(4);
    let mut encoded = 0;
    for sample in tests::all_samples() {
        let name = sample.descriptor().full_name().to_string();
        let json = MMRUN.decode_old(&name, &sample.encode_to_vec()).unwrap();
        for round in 0..10 {
            let mut perturbed = json.clone();
            if round > 0 {
                perturb(&mut rng, &mut perturbed, 0);
            }
            for strict in [false, true] {
                encoded += usize::from(MMRUN.same_encode(&name, &perturbed, strict).is_some());
            }
        }
    }
    assert!(encoded > 500, "only {encoded} perturbed samples encoded");

    // The test schema's every type: random bytes decoded to JSON, perturbed, encoded.
    let mut g = Gen {
        rng: seeded(5),
        schema: TEST.schema,
    };
    let mut encoded = 0;
    for _ in 0..2000 {
        let bytes = g.message(TEST.message("t.All"), 3);
        let Some(mut json) = TEST.same_decode("t.All", &bytes) else {
            continue;
        };
        perturb(&mut rng, &mut json, 0);
        for strict in [false, true] {
            encoded += usize::from(TEST.same_encode("t.All", &json, strict).is_some());
        }
    }
    assert!(encoded > 1000, "only {encoded} perturbed t.All encoded");
}
