//! docs/script-api.md must be what the engine generates: the reference cannot go stale.

#[test]
fn checked_in_script_api_reference_is_fresh() {
    let generated = mmrun::script::docs::markdown(&mmrun::script::engine::for_metadata());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/script-api.md");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == checked_in,
        "docs/script-api.md is stale: regenerate it with `cargo run -- script-api > docs/script-api.md`"
    );
}
