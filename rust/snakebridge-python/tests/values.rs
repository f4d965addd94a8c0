//! Exact round trips of every Value kind, both directions, against real
//! CPython in the project venv.

mod common;

use common::*;
use num_bigint::BigInt;

/// Each case: a wire value, and a Python expression about the decoded `x`
/// that must hold. The value must also come back from `identity` unchanged.
fn check_all(cases: Vec<(&str, pb::Value, &str)>) {
    let ex = executor();
    let mut failures = Vec::new();
    for (name, val, expr) in cases {
        if !check_py(&ex, val.clone(), expr) {
            failures.push(format!("{name}: Python check `{expr}` failed"));
        }
        let back = value(ex.call_blocking(function("sbtest", "identity", vec![val.clone()])));
        if !same_wire(&back, &val) {
            failures.push(format!("{name}: round trip gave {back:?}, sent {val:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(ex.health().refs, 0, "plain values must create no refs");
}

/// Each case: a Python expression and the exact wire value it must encode to.
fn expect_all(cases: Vec<(&str, pb::Value)>) {
    let ex = executor();
    let mut failures = Vec::new();
    for (expr, expected) in cases {
        let got = make(&ex, expr);
        if !same_wire(&got, &expected) {
            failures.push(format!("{expr}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn pow2(n: u32) -> BigInt {
    BigInt::from(2).pow(n)
}

#[test]
fn scalars_round_trip() {
    check_all(vec![
        ("none", none(), "x is None"),
        ("true", boolean(true), "x is True"),
        ("false", boolean(false), "x is False"),
        ("int 6", int(6), "type(x) is int and x == 6"),
        ("int 0", int(0), "type(x) is int and x == 0"),
        ("int min", int(i64::MIN), "x == -2**63"),
        ("int max", int(i64::MAX), "x == 2**63 - 1"),
        (
            "2**63",
            big(bigint_bytes(&pow2(63))),
            "type(x) is int and x == 2**63",
        ),
        ("2**100", big(bigint_bytes(&pow2(100))), "x == 2**100"),
        ("-2**100", big(bigint_bytes(&-pow2(100))), "x == -2**100"),
        (
            "-2**63-1",
            big(bigint_bytes(&(-pow2(63) - 1))),
            "x == -2**63 - 1",
        ),
        ("float", float(1.5), "type(x) is float and x == 1.5"),
        ("nan", float(f64::NAN), "math.isnan(x)"),
        ("inf", float(f64::INFINITY), "x == math.inf"),
        ("-inf", float(f64::NEG_INFINITY), "x == -math.inf"),
        ("-0.0", float(-0.0), "x == 0 and math.copysign(1, x) == -1"),
        ("str", s("héllo"), "x == 'h\\u00e9llo'"),
        ("non-BMP", s("𝄞"), "x == '\\U0001d11e' and len(x) == 1"),
        ("empty str", s(""), "x == ''"),
        (
            "bytes",
            bytes(b"a\0b\0"),
            "type(x) is bytes and x == b'a\\x00b\\x00'",
        ),
        ("empty bytes", bytes(b""), "x == b''"),
        ("complex", complex(1.0, -2.5), "x == complex(1, -2.5)"),
        (
            "complex -0.0",
            complex(-0.0, -0.0),
            "math.copysign(1, x.real) == -1 and math.copysign(1, x.imag) == -1",
        ),
        (
            "decimal",
            decimal("1.10"),
            "x == Decimal('1.10') and str(x) == '1.10'",
        ),
        (
            "decimal nan",
            decimal("NaN"),
            "type(x) is Decimal and x.is_nan()",
        ),
        ("decimal snan", decimal("sNaN"), "x.is_snan()"),
        ("decimal -0", decimal("-0"), "str(x) == '-0'"),
        (
            "decimal inf",
            decimal("-Infinity"),
            "x == Decimal('-Infinity')",
        ),
        ("decimal exp", decimal("1.23E+400"), "str(x) == '1.23E+400'"),
    ]);
}

#[test]
fn big_int_from_python_formula_decodes() {
    // `(n.bit_length() + 8) // 8` bytes is not minimal for -2**103; any
    // length must decode.
    let ex = executor();
    let mut formula = (-pow2(103)).to_signed_bytes_le();
    formula.push(0xff);
    assert!(check_py(&ex, big(formula), "x == -2**103"));
}

#[test]
fn containers_round_trip() {
    check_all(vec![
        ("empty list", list(vec![]), "x == [] and type(x) is list"),
        ("empty tuple", tuple(vec![]), "x == () and type(x) is tuple"),
        ("empty set", set(vec![]), "x == set() and type(x) is set"),
        (
            "empty frozenset",
            frozenset(vec![]),
            "type(x) is frozenset and not x",
        ),
        ("empty dict", dict(vec![]), "x == {} and type(x) is dict"),
        (
            "list",
            list(vec![int(1), s("a"), none()]),
            "x == [1, 'a', None]",
        ),
        (
            "tuple",
            tuple(vec![int(1), tuple(vec![int(2)])]),
            "x == (1, (2,))",
        ),
        ("set", set(vec![int(1), int(2), int(3)]), "x == {1, 2, 3}"),
        ("frozenset", frozenset(vec![int(3)]), "x == frozenset({3})"),
        (
            "frozenset in set",
            set(vec![frozenset(vec![int(1)])]),
            "x == {frozenset({1})}",
        ),
        (
            "dict tuple keys",
            dict(vec![
                (tuple(vec![int(1), int(2)]), s("a")),
                (s("b"), none()),
                (int(3), list(vec![])),
            ]),
            "x == {(1, 2): 'a', 'b': None, 3: []} and list(x) == [(1, 2), 'b', 3]",
        ),
        (
            "dict order",
            dict(vec![(s("z"), int(1)), (s("a"), int(2)), (s("m"), int(3))]),
            "list(x) == ['z', 'a', 'm']",
        ),
        ("50 levels", nested(50, int(7)), "x == nested(50, 7)"),
        (
            "mixed nesting",
            dict(vec![(
                s("k"),
                list(vec![tuple(vec![set(vec![int(1)]), dict(vec![])])]),
            )]),
            "x == {'k': [({1}, {})]}",
        ),
    ]);
}

#[test]
fn datetimes_round_trip() {
    let hour = 3_600_000_000_i64;
    check_all(vec![
        (
            "date",
            date(2024, 2, 29),
            "x == dt.date(2024, 2, 29) and type(x) is dt.date",
        ),
        (
            "naive datetime",
            datetime(date_of(2024, 1, 2), time_of(3, 4, 5, 6, None, 0), None),
            "x == dt.datetime(2024, 1, 2, 3, 4, 5, 6) and x.tzinfo is None",
        ),
        (
            "paris summer",
            datetime(
                date_of(2024, 7, 1),
                time_of(12, 0, 0, 0, Some(zone("Europe/Paris")), 0),
                Some(2 * hour),
            ),
            "x.tzinfo is ZoneInfo('Europe/Paris') and x.utcoffset() == dt.timedelta(hours=2)",
        ),
        (
            "paris fold",
            datetime(
                date_of(2024, 10, 27),
                time_of(2, 30, 0, 0, Some(zone("Europe/Paris")), 1),
                Some(hour),
            ),
            "x.fold == 1 and x.utcoffset() == dt.timedelta(hours=1)",
        ),
        (
            "fixed offset",
            datetime(
                date_of(2024, 3, 1),
                time_of(8, 0, 0, 0, Some(fixed(5 * hour + hour / 2, None)), 0),
                Some(5 * hour + hour / 2),
            ),
            "x.tzinfo == dt.timezone(dt.timedelta(hours=5, minutes=30)) and x.tzname() == 'UTC+05:30'",
        ),
        (
            "named offset",
            datetime(
                date_of(2024, 3, 1),
                time_of(8, 0, 0, 0, Some(fixed(-5 * hour, Some("EST"))), 0),
                Some(-5 * hour),
            ),
            "x.tzname() == 'EST' and x.utcoffset() == dt.timedelta(hours=-5)",
        ),
        (
            "utc",
            datetime(
                date_of(2000, 1, 1),
                time_of(0, 0, 0, 0, Some(fixed(0, None)), 0),
                Some(0),
            ),
            "x.tzinfo is dt.timezone.utc",
        ),
        (
            "time with tz",
            time(time_of(10, 30, 15, 500, Some(fixed(hour, None)), 0)),
            "x == dt.time(10, 30, 15, 500, tzinfo=dt.timezone(dt.timedelta(hours=1)))",
        ),
        (
            "time naive fold",
            time(time_of(1, 2, 3, 0, None, 1)),
            "type(x) is dt.time and x.fold == 1 and x.tzinfo is None",
        ),
        (
            "negative timedelta",
            timedelta(-1, 86_399, 999_999),
            "x == dt.timedelta(microseconds=-1)",
        ),
        (
            "timedelta",
            timedelta(3, 7, 9),
            "x == dt.timedelta(days=3, seconds=7, microseconds=9)",
        ),
    ]);
}

fn date_of(year: i32, month: u32, day: u32) -> pb::Date {
    pb::Date { year, month, day }
}

fn f64_bytes(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values.into_iter().flat_map(f64::to_le_bytes).collect()
}

fn i32_bytes(values: impl IntoIterator<Item = i32>) -> Vec<u8> {
    values.into_iter().flat_map(i32::to_le_bytes).collect()
}

#[test]
fn numpy_round_trip() {
    let million = f64_bytes((0..1_000_000).map(f64::from));
    check_all(vec![
        (
            "1e6 float64",
            ndarray("<f8", vec![1_000_000], million, false),
            "type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (1000000,) \
             and x.flags.writeable and (x == np.arange(1000000.0)).all()",
        ),
        (
            "2-d int32",
            ndarray("<i4", vec![2, 3], i32_bytes(0..6), false),
            "x.tolist() == [[0, 1, 2], [3, 4, 5]] and x.dtype == np.int32",
        ),
        (
            "float64 scalar",
            ndarray("<f8", vec![], f64_bytes([1.5]), true),
            "type(x) is np.float64 and x == 1.5",
        ),
        (
            "int32 scalar",
            ndarray("<i4", vec![], i32_bytes([7]), true),
            "type(x) is np.int32 and x == 7",
        ),
        (
            "0-d array",
            ndarray("<f8", vec![], f64_bytes([2.0]), false),
            "type(x) is np.ndarray and x.shape == () and x == 2.0",
        ),
        (
            "empty",
            ndarray("<f8", vec![0], vec![], false),
            "x.shape == (0,) and x.dtype == np.float64",
        ),
        (
            "empty 2-d",
            ndarray("<i4", vec![2, 0], vec![], false),
            "x.shape == (2, 0)",
        ),
        (
            "big endian",
            ndarray(">i4", vec![2], vec![0, 0, 0, 1, 0, 0, 0, 2], false),
            "x.dtype.str == '>i4' and x.tolist() == [1, 2]",
        ),
        (
            "bool",
            ndarray("|b1", vec![3], vec![1, 0, 1], false),
            "x.tolist() == [True, False, True]",
        ),
        (
            "datetime64",
            ndarray("<M8[s]", vec![1], 86_400_i64.to_le_bytes().to_vec(), false),
            "x[0] == np.datetime64('1970-01-02T00:00:00')",
        ),
    ]);
}

#[test]
fn python_values_encode_exactly() {
    let hour = 3_600_000_000_i64;
    let mut two63 = vec![0u8; 9];
    two63[7] = 0x80;
    expect_all(vec![
        ("6", int(6)),
        ("None", none()),
        ("True", boolean(true)),
        ("2**63", big(two63)),
        ("-2**63", int(i64::MIN)),
        ("2**100", big(bigint_bytes(&pow2(100)))),
        ("-2**100", big(bigint_bytes(&-pow2(100)))),
        ("-2**103", big(bigint_bytes(&-pow2(103)))),
        ("float('nan')", float(f64::NAN)),
        ("-math.inf", float(f64::NEG_INFINITY)),
        ("'\\U0001d11e'", s("𝄞")),
        ("b'\\x00\\x01'", bytes(&[0, 1])),
        (
            "(1, [2, {3: 4}])",
            tuple(vec![
                int(1),
                list(vec![int(2), dict(vec![(int(3), int(4))])]),
            ]),
        ),
        (
            "{'b': 1, 'a': 2}",
            dict(vec![(s("b"), int(1)), (s("a"), int(2))]),
        ),
        ("frozenset()", frozenset(vec![])),
        ("1+2j", complex(1.0, 2.0)),
        ("complex(-0.0, 0.0)", complex(-0.0, 0.0)),
        ("Decimal('1.10')", decimal("1.10")),
        ("Decimal('NaN')", decimal("NaN")),
        ("dt.date(1, 1, 1)", date(1, 1, 1)),
        ("dt.timedelta(-1)", timedelta(-1, 0, 0)),
        (
            "dt.datetime(2024, 7, 1, 12, tzinfo=ZoneInfo('Europe/Paris'))",
            datetime(
                date_of(2024, 7, 1),
                time_of(12, 0, 0, 0, Some(zone("Europe/Paris")), 0),
                Some(2 * hour),
            ),
        ),
        (
            "dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5), 'EST'))",
            datetime(
                date_of(2024, 1, 1),
                time_of(0, 0, 0, 0, Some(fixed(-5 * hour, Some("EST"))), 0),
                Some(-5 * hour),
            ),
        ),
        (
            "dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)",
            datetime(
                date_of(2024, 1, 1),
                time_of(0, 0, 0, 0, Some(fixed(0, None)), 0),
                Some(0),
            ),
        ),
        (
            "np.float64(1.5)",
            ndarray("<f8", vec![], f64_bytes([1.5]), true),
        ),
        ("np.int32(7)", ndarray("<i4", vec![], i32_bytes([7]), true)),
        (
            "np.array(5.0)",
            ndarray("<f8", vec![], f64_bytes([5.0]), false),
        ),
        (
            "np.arange(10, dtype=np.int32)[::2]",
            ndarray("<i4", vec![5], i32_bytes([0, 2, 4, 6, 8]), false),
        ),
        (
            "np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))",
            ndarray("<i4", vec![2, 3], i32_bytes(0..6), false),
        ),
        (
            "np.array(['ab', 'c'])",
            ndarray(
                "<U2",
                vec![2],
                ['a', 'b', 'c', '\0']
                    .iter()
                    .flat_map(|c| (*c as u32).to_le_bytes())
                    .collect(),
                false,
            ),
        ),
        (
            "np.array([b'ab'])",
            ndarray("|S2", vec![1], b"ab".to_vec(), false),
        ),
        (
            "np.array([np.datetime64(86400, 's')])",
            ndarray("<M8[s]", vec![1], 86_400_i64.to_le_bytes().to_vec(), false),
        ),
        ("np.bool_(True)", ndarray("|b1", vec![], vec![1], true)),
    ]);
}

#[test]
fn large_array_round_trips_intact() {
    // Speed is measured in `cargo bench` (docs/performance.md), not here.
    let ex = executor();
    let n = 1_000_000usize; // 8 MB of float64
    let data = f64_bytes((0..n).map(|i| i as f64));
    let val = ndarray("<f8", vec![n as u64], data, false);
    for _ in 0..2 {
        let back = value(ex.call_blocking(function("sbtest", "identity", vec![val.clone()])));
        assert!(same_wire(&back, &val));
    }
}
