//! Fuzz target for the JSON view parser (docs/fuzzing.md): text, parsed as
//! the CLI parses arguments (`serde_json`, then [`from_json`]), on a thread
//! with a 2 MiB stack.
//!
//! Properties: no panic and no stack overflow on any input; malformed views
//! are `Error::Serialization`; a parsed value prints ([`to_json`]) and
//! parses back to the same value, as a JSON tree and as text.
//!
//! `SNAKEBRIDGE_FUZZ_SECONDS=60 cargo test -p snakebridge --test fuzz -- --nocapture`

use std::fmt::Write as _;

use snakebridge::Value;
use snakebridge::json::{from_json, to_json};
use snakebridge_fuzz::{Target, Unstructured, arbitrary, fuzz};

/// Equal, NaNs included (`Debug` prints every NaN alike and tells -0.0 from 0.0).
fn same(a: &Value, b: &Value) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn parse(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let value = match from_json(json) {
        Ok(value) => value,
        Err(e) => {
            assert!(
                matches!(e, snakebridge::Error::Serialization { .. }),
                "{e:?}"
            );
            return false;
        }
    };
    let printed = to_json(&value);
    let text = printed.to_string();
    let back = from_json(printed).unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
    assert!(
        same(&back, &value),
        "{text} parses back as {back:?}, not {value:?}"
    );
    // As text, the way the CLI prints a result and reads an argument. The
    // view can nest deeper than its input (`1e400` is infinite: a tagged
    // object), past what serde_json reads (127 levels): the one exception.
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(reparsed) => {
            let back =
                from_json(reparsed).unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
            assert!(
                same(&back, &value),
                "{text} parses back as {back:?}, not {value:?}"
            );
        }
        Err(e) => assert!(
            e.to_string().starts_with("recursion limit exceeded") && depth(&text) > 127,
            "{text} is not JSON: {e}"
        ),
    }
    let _ = value.to_string();
    true
}

/// How deep arrays and objects nest in JSON text (brackets in strings skipped).
fn depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// JSON text: `s` as a string literal.
fn string(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).expect("strings serialize"));
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "4.0",
    "1e16",
    "1E+2",
    "0.1",
    "5e-324",
    "1.7976931348623157e308",
    "1e400",
    "-1e400",
    "1e-400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890123456789",
    "1e99999999999999999999",
];

const TAGS: &[&str] = &[
    "special_float",
    "bytes",
    "tuple",
    "set",
    "frozenset",
    "dict",
    "complex",
    "datetime",
    "date",
    "time",
    "timedelta",
    "decimal",
    "ndarray",
    "ref",
    "stream_ref",
    "list",
    "",
];

const ISO: &[&str] = &[
    "2024-02-29",
    "2023-02-29",
    "0001-01-01",
    "9999-12-31",
    "0000-01-01",
    "2024-02-29T01:30:00",
    "2024-02-29T01:30:00.000005+05:30",
    "2024-02-29 23:59:59.999999Z",
    "2024-02-29T00:00-23:59:59.999999",
    "2024-02-29T00:00+24:00",
    "01:30",
    "23:59:59.999999",
    "24:00:00",
    "12:00:00+01:00",
    "12:00:00,5",
    "P1DT2H3M4.000005S",
    "-PT1S",
    "PT0S",
    "P2W",
    "P999999999D",
    "P99999999999999999999D",
    "-P1DT0.000001S",
    "PT86400S",
];

const DTYPES: &[&str] = &[
    "<f8", "<i4", "|b1", "<c16", ">u2", "|u1", "<M8[ns]", "<U3", "object", "",
];

fn number(u: &mut Unstructured<'_>, out: &mut String) -> arbitrary::Result<()> {
    if u.ratio(1, 2)? {
        out.push_str(u.choose(NUMBERS)?);
    } else if u.ratio(1, 2)? {
        let _ = write!(out, "{}", u.arbitrary::<i64>()?);
    } else {
        let x: f64 = u.arbitrary()?;
        if x.is_finite() {
            let _ = write!(out, "{x:?}");
        } else {
            out.push('1');
        }
    }
    Ok(())
}

fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => u.choose(TAGS)?.to_string(),
        1 => u.choose(ISO)?.to_string(),
        _ => u.arbitrary()?,
    })
}

/// A random JSON view: plain JSON and tagged objects, at most `depth` deep.
fn view(u: &mut Unstructured<'_>, depth: usize, out: &mut String) -> arbitrary::Result<()> {
    let kind = if depth == 0 {
        u.int_in_range(0..=4u8)?
    } else {
        u.int_in_range(0..=8u8)?
    };
    match kind {
        0 => out.push_str(u.choose(&["null", "true", "false"])?),
        1 | 2 => number(u, out)?,
        3 | 4 => string(&text(u)?, out),
        5 => {
            out.push('[');
            for i in 0..u.int_in_range(0..=3)? {
                if i > 0 {
                    out.push(',');
                }
                view(u, depth - 1, out)?;
            }
            out.push(']');
        }
        6 => {
            out.push('{');
            for i in 0..u.int_in_range(0..=3)? {
                if i > 0 {
                    out.push(',');
                }
                string(&text(u)?, out);
                out.push(':');
                view(u, depth - 1, out)?;
            }
            out.push('}');
        }
        _ => tagged(u, depth - 1, out)?,
    }
    Ok(())
}

fn tagged(u: &mut Unstructured<'_>, depth: usize, out: &mut String) -> arbitrary::Result<()> {
    let tag = *u.choose(TAGS)?;
    out.push_str("{\"__type__\":");
    string(tag, out);
    let field = |name: &str, out: &mut String| {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
    };
    match tag {
        "special_float" | "decimal" | "datetime" | "date" | "time" | "timedelta" => {
            field("value", out);
            if tag == "special_float" {
                string(
                    u.choose(&[
                        "nan",
                        "NaN",
                        "infinity",
                        "inf",
                        "-Infinity",
                        "neg_infinity",
                        "x",
                    ])?,
                    out,
                );
            } else {
                string(&text(u)?, out);
            }
            if u.ratio(1, 3)? {
                field(u.choose(&["tz", "tz_name"])?, out);
                string(u.choose(&["UTC", "America/New_York", "CET", ""])?, out);
            }
            if u.ratio(1, 4)? {
                field("fold", out);
                out.push_str(u.choose(&["0", "1", "2", "true", "false", "\"1\""])?);
            }
        }
        "bytes" => {
            field("data", out);
            string(u.choose(&["", "AP8=", "AP8", "####", "aGVsbG8="])?, out);
        }
        "tuple" | "set" | "frozenset" | "list" | "dict" => {
            field(if tag == "dict" { "pairs" } else { "elements" }, out);
            out.push('[');
            for i in 0..u.int_in_range(0..=3)? {
                if i > 0 {
                    out.push(',');
                }
                if tag == "dict" {
                    out.push('[');
                    view(u, depth, out)?;
                    if !u.ratio(1, 10)? {
                        out.push(',');
                        view(u, depth, out)?;
                    }
                    out.push(']');
                } else {
                    view(u, depth, out)?;
                }
            }
            out.push(']');
        }
        "complex" => {
            field("real", out);
            view(u, depth, out)?;
            field("imag", out);
            view(u, depth, out)?;
        }
        "ndarray" => {
            field("dtype", out);
            string(u.choose(DTYPES)?, out);
            field("shape", out);
            let _ = write!(
                out,
                "{}",
                u.choose(&[
                    "[]",
                    "[2]",
                    "[2,1]",
                    "[0]",
                    "[-1]",
                    "[1.5]",
                    "[18446744073709551615,2]"
                ])?
            );
            field("data", out);
            string(
                u.choose(&["", "AAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAA==", "AQ=="])?,
                out,
            );
            if u.ratio(1, 2)? {
                field("scalar", out);
                out.push_str(u.choose(&["true", "false", "null", "1"])?);
            }
        }
        _ => {
            if u.ratio(1, 2)? {
                field("id", out);
                number(u, out)?;
            }
        }
    }
    out.push('}');
    Ok(())
}

fn generate(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut out = String::new();
    view(u, 4, &mut out)?;
    Ok(out.into_bytes())
}

const DICTIONARY: &[&[u8]] = &[
    b"\"__type__\"",
    b"\"special_float\"",
    b"\"bytes\"",
    b"\"tuple\"",
    b"\"set\"",
    b"\"frozenset\"",
    b"\"dict\"",
    b"\"complex\"",
    b"\"datetime\"",
    b"\"date\"",
    b"\"time\"",
    b"\"timedelta\"",
    b"\"decimal\"",
    b"\"ndarray\"",
    b"\"ref\"",
    b"\"elements\"",
    b"\"pairs\"",
    b"\"value\"",
    b"\"tz\"",
    b"\"tz_name\"",
    b"\"fold\"",
    b"\"real\"",
    b"\"imag\"",
    b"\"dtype\"",
    b"\"shape\"",
    b"\"data\"",
    b"\"scalar\"",
    b"null",
    b"true",
    b"1e400",
    b"-0.0",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"\\u0000",
    b"\\ud800",
    b"T",
    b"+24:00",
    b".999999",
    b"Z",
];

const WRAPPERS: &[(&[u8], &[u8])] = &[
    (b"[", b"]"),
    (b"{\"a\":", b"}"),
    (b"{\"__type__\":\"tuple\",\"elements\":[", b"]}"),
    (b"{\"__type__\":\"dict\",\"pairs\":[[1,", b"]]}"),
    (b"{\"__type__\":\"complex\",\"imag\":0,\"real\":", b"}"),
];

#[test]
fn fuzz_json_view() {
    fuzz(
        Target::new("json_view", parse)
            .generator(generate)
            .dictionary(DICTIONARY)
            .wrappers(WRAPPERS),
    );
}
