//! Numbers: Rust integers (any width, `BigInt`) and floats to and from
//! Python `int` and `float`, range checked, numpy scalars included.

use num_bigint::BigInt;

use super::{FromValue, IntoValue, array_1d, mismatch, out_of_range};
use crate::error::{Error, Result};
use crate::value::{NdArray, Value};

// ---------------------------------------------------------------- integers

/// The integer in a 0-d numpy array of an integer dtype.
fn array_int(a: &NdArray) -> Option<i128> {
    let le = a.dtype.replacen('>', "<", 1);
    match le.as_str() {
        "<i8" => a.scalar_of::<i64>().map(i128::from),
        "<i4" => a.scalar_of::<i32>().map(i128::from),
        "<i2" => a.scalar_of::<i16>().map(i128::from),
        "|i1" => a.scalar_of::<i8>().map(i128::from),
        "<u8" => a.scalar_of::<u64>().map(i128::from),
        "<u4" => a.scalar_of::<u32>().map(i128::from),
        "<u2" => a.scalar_of::<u16>().map(i128::from),
        "|u1" => a.scalar_of::<u8>().map(i128::from),
        _ => None,
    }
}

/// An integer type from `int` values (and 0-d integer numpy arrays), range
/// checked.
macro_rules! int_from_value {
    ($t:ident) => {
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self> {
                let name = stringify!($t);
                match &v {
                    Value::Int(n) => <$t>::try_from(*n).map_err(|_| out_of_range(name, &v)),
                    Value::BigInt(n) => <$t>::try_from(n).map_err(|_| out_of_range(name, &v)),
                    Value::NdArray(a) => match array_int(a) {
                        Some(n) => <$t>::try_from(n).map_err(|_| out_of_range(name, &v)),
                        None => Err(mismatch(name, &v)),
                    },
                    _ => Err(mismatch(name, &v)),
                }
            }
            int_from_value!(@buffer $t);
        }
    };
    (@buffer i128) => {};
    (@buffer u128) => {};
    (@buffer isize) => {};
    (@buffer usize) => {};
    (@buffer u8) => {
        fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
            match v {
                Value::Bytes(b) => Some(Ok(b.to_vec())),
                _ => array_1d(v),
            }
        }
    };
    (@buffer $t:ident) => {
        fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
            array_1d(v)
        }
    };
}

macro_rules! small_int_impls {
    ($($t:ident)+) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(i64::from(self))
            }
        }
        int_from_value!($t);
    )+};
}

macro_rules! wide_int_impls {
    ($($t:ident)+) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::BigInt(BigInt::from(self)),
                }
            }
        }
        int_from_value!($t);
    )+};
}

small_int_impls!(i8 i16 i32 i64 u8 u16 u32);
wide_int_impls!(isize u64 usize i128 u128);

impl IntoValue for BigInt {
    fn into_value(self) -> Value {
        Value::big(self)
    }
}

impl IntoValue for &BigInt {
    fn into_value(self) -> Value {
        Value::big(self.clone())
    }
}

impl FromValue for BigInt {
    fn from_value(mut v: Value) -> Result<Self> {
        match &mut v {
            Value::Int(n) => Ok(BigInt::from(*n)),
            Value::BigInt(n) => Ok(std::mem::take(n)),
            Value::NdArray(a) => array_int(a)
                .map(BigInt::from)
                .ok_or_else(|| mismatch("int", &v)),
            _ => Err(mismatch("int", &v)),
        }
    }
}

// ---------------------------------------------------------------- floats

/// Integers up to 2^53 convert to `f64` exactly.
const EXACT_F64_INT: i64 = 1 << 53;

fn float_from_value(v: Value, name: &str) -> Result<f64> {
    match &v {
        Value::Float(x) => Ok(*x),
        Value::Int(n) if n.unsigned_abs() <= EXACT_F64_INT as u64 => Ok(*n as f64),
        Value::Int(_) | Value::BigInt(_) => Err(Error::conversion(
            name,
            format!("{} (not exactly representable as a float)", v.describe()),
        )),
        Value::NdArray(a) => a
            .scalar_of::<f64>()
            .or_else(|| a.scalar_of::<f32>().map(f64::from))
            .ok_or_else(|| mismatch(name, &v)),
        _ => Err(mismatch(name, &v)),
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl FromValue for f64 {
    /// Accepts `float`, an `int` with |n| <= 2^53, and 0-d float arrays.
    fn from_value(v: Value) -> Result<Self> {
        float_from_value(v, "f64")
    }

    fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
        array_1d(v)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(f64::from(self))
    }
}

impl FromValue for f32 {
    /// As `f64`, rounded to the nearest `f32`.
    fn from_value(v: Value) -> Result<Self> {
        float_from_value(v, "f32").map(|x| x as f32)
    }

    fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
        array_1d(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{big, fails, s};

    #[test]
    fn integer_range_errors() {
        fails::<u8>(Value::Int(300), "expected u8, got int 300 (out of range)");
        fails::<u8>(Value::Int(-1), "expected u8, got int -1 (out of range)");
        fails::<i8>(Value::Int(128), "expected i8, got int 128 (out of range)");
        fails::<u64>(Value::Int(-1), "expected u64, got int -1 (out of range)");
        fails::<i64>(
            big("1267650600228229401496703205376"),
            "expected i64, got int 1267650600228229401496703205376 (out of range)",
        );
        fails::<u128>(
            big("-1267650600228229401496703205376"),
            "expected u128, got int -1267650600228229401496703205376 (out of range)",
        );
        fails::<i128>(
            big("340282366920938463463374607431768211455"),
            "expected i128, got int 340282366920938463463374607431768211455 (out of range)",
        );
        assert_eq!(
            big("1267650600228229401496703205376")
                .extract::<i128>()
                .unwrap(),
            1i128 << 100
        );
        assert_eq!(
            big("18446744073709551615").extract::<u64>().unwrap(),
            u64::MAX
        );
        fails::<i64>(s("abc"), "expected i64, got str 'abc'");
        fails::<i64>(Value::Float(1.0), "expected i64, got float 1.0");
        fails::<i64>(Value::Bool(true), "expected i64, got bool True");
        fails::<u32>(Value::None, "expected u32, got None");
        fails::<BigInt>(s("1"), "expected int, got str '1'");
    }

    #[test]
    fn numpy_scalars_extract() {
        assert_eq!(
            Value::NdArray(NdArray::scalar(7i32))
                .extract::<i64>()
                .unwrap(),
            7
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(u64::MAX))
                .extract::<u128>()
                .unwrap(),
            u128::from(u64::MAX)
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(u64::MAX))
                .extract::<BigInt>()
                .unwrap(),
            BigInt::from(u64::MAX)
        );
        fails::<i8>(
            Value::NdArray(NdArray::scalar(300i32)),
            "expected i8, got ndarray np.int32(300) (out of range)",
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(2.5f64))
                .extract::<f64>()
                .unwrap(),
            2.5
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(2.5f32))
                .extract::<f64>()
                .unwrap(),
            2.5
        );
        assert!(
            Value::NdArray(NdArray::scalar(true))
                .extract::<bool>()
                .unwrap()
        );
        fails::<f64>(
            Value::NdArray(NdArray::scalar(2i64)),
            "expected f64, got ndarray np.int64(2)",
        );
        let vector = Value::NdArray(NdArray::from_vec(vec![1], vec![2.5f64]).unwrap());
        fails::<f64>(
            vector,
            "expected f64, got ndarray array([2.5], dtype='<f8')",
        );
    }

    #[test]
    fn floats() {
        assert_eq!(Value::Int(16).extract::<f64>().unwrap(), 16.0);
        assert_eq!(
            Value::Int(1 << 53).extract::<f64>().unwrap(),
            9007199254740992.0
        );
        assert_eq!(
            Value::Int(-(1 << 53)).extract::<f64>().unwrap(),
            -9007199254740992.0
        );
        fails::<f64>(
            Value::Int((1 << 53) + 1),
            "expected f64, got int 9007199254740993 (not exactly representable as a float)",
        );
        fails::<f64>(
            big("1267650600228229401496703205376"),
            "expected f64, got int 1267650600228229401496703205376 (not exactly representable as a float)",
        );
        fails::<f64>(s("1.5"), "expected f64, got str '1.5'");
        fails::<f32>(Value::None, "expected f32, got None");
        assert!(Value::Float(f64::NAN).extract::<f64>().unwrap().is_nan());
        assert_eq!(
            Value::Float(f64::NEG_INFINITY).extract::<f32>().unwrap(),
            f32::NEG_INFINITY
        );
    }
}
