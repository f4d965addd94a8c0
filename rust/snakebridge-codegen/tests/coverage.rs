//! `min_signature_tier` offenders are counted over every callable, not only
//! over the ones the report lists as fallbacks.

use std::path::Path;

use snakebridge_codegen::{Coverage, Ir, SignatureTier};

fn math() -> Coverage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stdlib/math.ir.json");
    let ir = Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    Coverage::of(&ir)
}

#[test]
fn below_counts_every_callable_under_the_minimum() {
    let coverage = math();
    let count = |tier| coverage.tiers.get(&tier).copied().unwrap_or(0);
    let cases = [
        (
            SignatureTier::Runtime,
            coverage.callables - count(SignatureTier::Runtime),
        ),
        (SignatureTier::TextSignature, count(SignatureTier::Variadic)),
        (SignatureTier::Variadic, 0),
    ];
    for (min, want) in cases {
        assert_eq!(
            coverage.below(min).len(),
            want,
            "min_signature_tier = {min:?}"
        );
    }
    // math's C functions carry text signatures, so "runtime" flags them all.
    assert!(coverage.below(SignatureTier::Runtime).len() > 50);
}
