//! `min_signature_tier` offenders are counted over every callable, not only
//! over the ones the report lists as fallbacks; typed returns and parameters
//! are counted with where their types came from.

use std::path::Path;

use snakebridge_codegen::{Coverage, Ir, SignatureTier};

fn coverage_of(path: &str) -> Coverage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let ir = Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    Coverage::of(&ir)
}

fn math() -> Coverage {
    coverage_of("tests/stdlib/math.ir.json")
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
        (
            SignatureTier::TextSignature,
            count(SignatureTier::RuntimeHints)
                + count(SignatureTier::Stub)
                + count(SignatureTier::Variadic),
        ),
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

#[test]
fn typed_returns_and_parameters_are_counted_with_their_source() {
    // math is typed from typeshed: every callable has a return type.
    let math = math();
    assert_eq!(math.typed_returns, math.callables);
    assert_eq!(math.types_from["typeshed"], math.callables);
    assert_eq!(math.types_from["none"], 0);
    assert!(math.untyped_returns.is_empty());
    assert!(math.typed_parameters > 60 && math.typed_parameters <= math.parameters);
    // typeshed's math takes `_SupportsFloatOrIndex` and `SupportsIndex`
    // (wide) everywhere but in `ldexp(x, i: int, /)`.
    assert_eq!(math.exact_parameters, 1);
    assert_eq!(math.typed_return_percent(), 100.0);
    let md = math.to_markdown();
    assert!(
        md.contains(&format!(
            "Typed returns: {0} of {0} callables (100.0%).",
            math.callables
        )),
        "{md}"
    );
    assert!(md.contains("| typeshed | 55 |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&math.to_json()).unwrap();
    assert_eq!(json["typed_returns"], math.callables);
    assert_eq!(json["types_from"]["stub_package"], 0);

    // A fixture typed by a stub package; one without types lists its callables.
    let stubpkg = coverage_of("../../python/tests/golden/fx_stubpkg.ir.json");
    // fx_defaults.describe: count, ratio, name, flag, limit, scale, label;
    // pad: text, width, fill, ratio, strict, limit, big, inf (not shape, marker).
    let defaults = coverage_of("../../python/tests/golden/fx_defaults.ir.json");
    assert_eq!((defaults.exact_parameters, defaults.parameters), (15, 17));
    assert!(
        defaults
            .to_markdown()
            .contains("taken as a Rust type: 15 (88.2%)."),
        "{}",
        defaults.to_markdown()
    );
    assert_eq!(stubpkg.types_from["stub_package"], stubpkg.callables);
    let tiers = coverage_of("../../python/tests/golden/fx_tiers.ir.json");
    assert!(tiers.typed_returns < tiers.callables);
    assert_eq!(
        tiers.untyped_returns.len(),
        tiers.callables - tiers.typed_returns
    );
    assert!(
        tiers.to_markdown().contains("## Without a return type ("),
        "{}",
        tiers.to_markdown()
    );
}
