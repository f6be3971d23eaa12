//! Compile-fail and compile-pass cases of the ktype macros.
//!
//! Regenerate the expected `.stderr` files with `TRYBUILD=overwrite cargo test -p ktype-ui-tests`,
//! then read every one: each message must be clear and point at the offending token.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
