//! Protobuf wire bytes for generators: well-formed (and nearly well-formed)
//! `snakebridge.v1.Value` encodings, built bottom-up without recursion in
//! prost, so that values can nest past the depth limit.
//!
//! The field numbers are those of `proto/snakebridge/v1/value.proto`; if the
//! proto changes, the generator makes fewer valid values, nothing worse.

use arbitrary::{Result, Unstructured};

/// Appends a varint.
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a field key.
pub fn key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | u64::from(wire_type), out);
}

/// Appends a varint field.
pub fn varint_field(field: u32, v: u64, out: &mut Vec<u8>) {
    key(field, 0, out);
    varint(v, out);
}

/// Appends a length-delimited field.
pub fn bytes_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// `bytes` as a length-delimited field `field` (a message wrapped one level).
pub fn wrap(field: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 6);
    bytes_field(field, bytes, &mut out);
    out
}

/// Appends a 64-bit field (`double`, `fixed64`).
pub fn fixed64_field(field: u32, v: u64, out: &mut Vec<u8>) {
    key(field, 1, out);
    out.extend_from_slice(&v.to_le_bytes());
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Value fields (value.proto).
mod f {
    pub(super) const NONE: u32 = 1;
    pub(super) const BOOL: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const BIG_INT: u32 = 4;
    pub(super) const FLOAT: u32 = 5;
    pub(super) const STR: u32 = 6;
    pub(super) const BYTES: u32 = 7;
    pub(super) const LIST: u32 = 8;
    pub(super) const DICT: u32 = 12;
    pub(super) const COMPLEX: u32 = 13;
    pub(super) const DATETIME: u32 = 14;
    pub(super) const DATE: u32 = 15;
    pub(super) const TIME: u32 = 16;
    pub(super) const TIMEDELTA: u32 = 17;
    pub(super) const DECIMAL: u32 = 18;
    pub(super) const NDARRAY: u32 = 19;
    pub(super) const REF: u32 = 20;
    pub(super) const STREAM: u32 = 21;
    pub(super) const CALLBACK: u32 = 22;
}

/// A random `Value`: a small random tree, sometimes nested in containers
/// around the depth limit (128) or far past it.
pub fn value(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let inner = tree(u, 4)?;
    let levels = match u.int_in_range(0..=9u8)? {
        0..=6 => 0,
        7 | 8 => u.int_in_range(124..=132)?,
        _ => u.int_in_range(133..=3000)?,
    };
    nest(u, inner, levels)
}

/// Wraps a value `levels` times in containers (list, tuple, set,
/// frozenset or a one-entry dict).
pub fn nest(u: &mut Unstructured<'_>, mut value: Vec<u8>, levels: usize) -> Result<Vec<u8>> {
    for _ in 0..levels {
        let kind = u.int_in_range(0..=4u8)?;
        value = if kind == 4 {
            let mut entry = Vec::new();
            bytes_field(1, &leaf(u)?, &mut entry);
            bytes_field(2, &value, &mut entry);
            wrap(f::DICT, &wrap(1, &entry))
        } else {
            wrap(f::LIST + u32::from(kind), &wrap(1, &value))
        };
    }
    Ok(value)
}

/// A random value at most `depth` containers deep.
pub fn tree(u: &mut Unstructured<'_>, depth: usize) -> Result<Vec<u8>> {
    if depth == 0 || u.ratio(1, 2)? {
        return leaf(u);
    }
    let mut body = Vec::new();
    let n = u.int_in_range(0..=4)?;
    let dict = u.ratio(1, 5)?;
    for _ in 0..n {
        if dict {
            let mut entry = Vec::new();
            // Sometimes a key or a value is missing.
            if !u.ratio(1, 20)? {
                bytes_field(1, &tree(u, depth - 1)?, &mut entry);
            }
            if !u.ratio(1, 20)? {
                bytes_field(2, &tree(u, depth - 1)?, &mut entry);
            }
            bytes_field(1, &entry, &mut body);
        } else {
            bytes_field(1, &tree(u, depth - 1)?, &mut body);
        }
    }
    let field = if dict {
        f::DICT
    } else {
        f::LIST + u.int_in_range(0..=3)?
    };
    Ok(wrap(field, &body))
}

/// Numbers worth trying for `i64` fields.
fn int(u: &mut Unstructured<'_>) -> Result<i64> {
    Ok(if u.ratio(1, 2)? {
        *u.choose(&[
            0,
            1,
            -1,
            i64::MIN,
            i64::MAX,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            86_400_000_000,
            -86_400_000_000,
            999_999_999,
            1_000_000_000,
        ])?
    } else {
        u.arbitrary()?
    })
}

fn small(u: &mut Unstructured<'_>, max: u32) -> Result<u64> {
    Ok(if u.ratio(7, 8)? {
        u64::from(u.int_in_range(0..=max)?)
    } else {
        u.arbitrary()?
    })
}

fn text(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    Ok(if u.ratio(1, 10)? {
        // Not always UTF-8.
        u.arbitrary::<Vec<u8>>()?
    } else {
        u.arbitrary::<String>()?.into_bytes()
    })
}

fn float_bits(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(if u.ratio(1, 2)? {
        u.choose(&[
            0.0f64,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            1e16,
            4.0,
        ])?
        .to_bits()
    } else {
        u.arbitrary()?
    })
}

fn date(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // int32 year: negative ones are ten-byte varints.
    let year = if u.ratio(3, 4)? {
        i64::from(u.int_in_range(-2..=10_000i32)?)
    } else {
        i64::from(u.arbitrary::<i32>()?)
    };
    varint_field(1, year as u64, &mut out);
    varint_field(2, small(u, 13)?, &mut out);
    varint_field(3, small(u, 32)?, &mut out);
    Ok(out)
}

fn time(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    varint_field(1, small(u, 24)?, &mut out);
    varint_field(2, small(u, 60)?, &mut out);
    varint_field(3, small(u, 60)?, &mut out);
    varint_field(4, small(u, 1_000_000)?, &mut out);
    match u.int_in_range(0..=3u8)? {
        0 => {
            let mut fixed = Vec::new();
            varint_field(1, int(u)? as u64, &mut fixed);
            if u.ratio(1, 2)? {
                bytes_field(2, &text(u)?, &mut fixed);
            }
            bytes_field(5, &wrap(1, &fixed), &mut out);
        }
        1 => bytes_field(5, &wrap(2, &text(u)?), &mut out),
        2 => bytes_field(5, &[], &mut out),
        _ => {}
    }
    varint_field(6, small(u, 2)?, &mut out);
    Ok(out)
}

fn ref_handle(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    varint_field(1, u.arbitrary()?, &mut out);
    bytes_field(2, &text(u)?, &mut out);
    varint_field(3, u.arbitrary()?, &mut out);
    bytes_field(4, &text(u)?, &mut out);
    bytes_field(5, &text(u)?, &mut out);
    bytes_field(6, &text(u)?, &mut out);
    Ok(out)
}

/// numpy dtypes and their item sizes (0: not a plain dtype).
const DTYPES: &[(&str, u64)] = &[
    ("<f8", 8),
    ("<f4", 4),
    ("<i8", 8),
    ("<i4", 4),
    (">i2", 2),
    ("|u1", 1),
    ("|b1", 1),
    ("<c16", 16),
    ("<M8[ns]", 8),
    ("<m8[s]", 8),
    ("<U3", 12),
    ("|S2", 2),
    ("|V4", 4),
    ("object", 0),
    ("", 0),
];

fn ndarray(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let (dtype, size) = *u.choose(DTYPES)?;
    if u.ratio(9, 10)? {
        bytes_field(1, dtype.as_bytes(), &mut out);
    } else {
        bytes_field(1, &text(u)?, &mut out);
    }
    let dims = u.int_in_range(0..=4)?;
    let mut shape = Vec::new();
    let mut count = 1u64;
    for _ in 0..dims {
        let d = small(u, 5)?;
        count = count.saturating_mul(d);
        varint(d, &mut shape);
    }
    bytes_field(2, &shape, &mut out);
    // Mostly the size the shape says, sometimes not.
    let len = if u.ratio(4, 5)? {
        count.saturating_mul(size).min(1 << 12)
    } else {
        u.int_in_range(0..=64)?
    };
    let data = vec![0xa5u8; len as usize];
    bytes_field(3, &data, &mut out);
    varint_field(4, u64::from(dims == 0 && u.ratio(1, 2)?), &mut out);
    Ok(out)
}

/// A random value that holds no other value (every kind, including ones
/// the host refuses: callbacks, out-of-range dates, inconsistent arrays).
pub fn leaf(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match u.int_in_range(0..=19u8)? {
        0 => bytes_field(f::NONE, &[], &mut out),
        1 => varint_field(f::BOOL, small(u, 2)?, &mut out),
        2 => varint_field(f::INT, zigzag(int(u)?), &mut out),
        3 => {
            let mut b = Vec::new();
            bytes_field(1, &u.arbitrary::<Vec<u8>>()?, &mut b);
            bytes_field(f::BIG_INT, &b, &mut out);
        }
        4 => fixed64_field(f::FLOAT, float_bits(u)?, &mut out),
        5 => bytes_field(f::STR, &text(u)?, &mut out),
        6 => bytes_field(f::BYTES, &u.arbitrary::<Vec<u8>>()?, &mut out),
        7 => {
            let mut c = Vec::new();
            fixed64_field(1, float_bits(u)?, &mut c);
            fixed64_field(2, float_bits(u)?, &mut c);
            bytes_field(f::COMPLEX, &c, &mut out);
        }
        8 => {
            let mut dt = Vec::new();
            if !u.ratio(1, 20)? {
                bytes_field(1, &date(u)?, &mut dt);
            }
            if !u.ratio(1, 20)? {
                bytes_field(2, &time(u)?, &mut dt);
            }
            if u.ratio(1, 2)? {
                varint_field(3, int(u)? as u64, &mut dt);
            }
            bytes_field(f::DATETIME, &dt, &mut out);
        }
        9 => bytes_field(f::DATE, &date(u)?, &mut out),
        10 => bytes_field(f::TIME, &time(u)?, &mut out),
        11 => {
            let mut td = Vec::new();
            varint_field(1, int(u)? as u64, &mut td);
            varint_field(
                2,
                i64::from(u.int_in_range(-1..=86_400i32)?) as u64,
                &mut td,
            );
            varint_field(
                3,
                i64::from(u.int_in_range(-1..=1_000_000i32)?) as u64,
                &mut td,
            );
            bytes_field(f::TIMEDELTA, &td, &mut out);
        }
        12 => {
            let decimal: &[u8] = u.choose(&[&b"1.10"[..], b"NaN", b"-0", b"Infinity", b"sNaN"])?;
            bytes_field(f::DECIMAL, decimal, &mut out);
        }
        13 => bytes_field(f::NDARRAY, &ndarray(u)?, &mut out),
        14 => bytes_field(f::REF, &ref_handle(u)?, &mut out),
        15 => {
            let mut s = Vec::new();
            if !u.ratio(1, 10)? {
                bytes_field(1, &ref_handle(u)?, &mut s);
            }
            varint_field(2, small(u, 1)?, &mut s);
            bytes_field(f::STREAM, &s, &mut out);
        }
        16 => {
            let mut c = Vec::new();
            varint_field(1, u.arbitrary()?, &mut c);
            varint_field(2, small(u, 3)?, &mut c);
            bytes_field(f::CALLBACK, &c, &mut out);
        }
        17 => {
            // A field this protocol version does not know.
            let field = u.int_in_range(23..=1000u32)?;
            bytes_field(field, &u.arbitrary::<Vec<u8>>()?, &mut out);
        }
        18 => {} // no kind at all
        _ => {
            // Two kinds: the last one wins in prost.
            varint_field(f::INT, zigzag(int(u)?), &mut out);
            bytes_field(f::STR, &text(u)?, &mut out);
        }
    }
    Ok(out)
}

/// Random extra fields (unknown or known, any wire type) after a message.
pub fn noise(u: &mut Unstructured<'_>, out: &mut Vec<u8>) -> Result<()> {
    for _ in 0..u.int_in_range(0..=2)? {
        let field = u.int_in_range(1..=12u32)?;
        match u.int_in_range(0..=3u8)? {
            0 => varint_field(field, u.arbitrary()?, out),
            1 => fixed64_field(field, u.arbitrary()?, out),
            2 => bytes_field(field, &text(u)?, out),
            _ => {
                key(field, 5, out);
                out.extend_from_slice(&u.arbitrary::<u32>()?.to_le_bytes());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_encode_like_protobuf() {
        let mut out = Vec::new();
        varint(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(wrap(8, &[]), [0x42, 0x00]);
    }

    #[test]
    fn generators_run_on_any_bytes() {
        let mut rng = crate::Rng::new(9);
        for _ in 0..500 {
            let n = rng.len(4096);
            let bytes = rng.bytes(n);
            let mut u = Unstructured::new(&bytes);
            let _ = value(&mut u);
        }
    }
}
