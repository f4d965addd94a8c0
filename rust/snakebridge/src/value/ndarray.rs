//! numpy arrays and scalars with a plain dtype: [`NdArray`] and the Rust
//! [`Element`] types it converts to and from.

use std::fmt::{self, Write as _};

use bytes::Bytes;

use super::repr::float_repr;
use crate::error::{Error, Result};

mod sealed {
    /// The element codec; private so that only the listed types implement
    /// [`Element`](super::Element).
    pub trait Sealed: Copy + 'static {
        /// numpy's scalar type name (`float64`).
        const NUMPY_NAME: &'static str;
        fn put_le(self, out: &mut Vec<u8>);
        fn get_le(b: &[u8]) -> Self;
        fn get_be(b: &[u8]) -> Self;
        fn repr(self) -> String;
    }
}

/// A Rust type that numpy arrays hold as a plain buffer: `f64` (`"<f8"`),
/// `f32` (`"<f4"`), `i64` (`"<i8"`), `i32` (`"<i4"`), `i16` (`"<i2"`), `i8`
/// (`"|i1"`), `u64` (`"<u8"`), `u32` (`"<u4"`), `u16` (`"<u2"`), `u8`
/// (`"|u1"`) and `bool` (`"|b1"`). Sealed.
pub trait Element: sealed::Sealed {
    /// The numpy `dtype.str` of arrays of this type, little-endian.
    const DTYPE: &'static str;
    /// The size of one element in bytes.
    const SIZE: usize;
}

macro_rules! numeric_element {
    ($($t:ty => $dtype:literal, $np:literal, $repr:expr;)+) => {$(
        impl sealed::Sealed for $t {
            const NUMPY_NAME: &'static str = $np;
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            fn get_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_be_bytes(a)
            }
            fn repr(self) -> String {
                let f: fn($t) -> String = $repr;
                f(self)
            }
        }
        impl Element for $t {
            const DTYPE: &'static str = $dtype;
            const SIZE: usize = std::mem::size_of::<$t>();
        }
    )+};
}

numeric_element! {
    f64 => "<f8", "float64", |x| float_repr(x);
    f32 => "<f4", "float32", |x| float_repr(f64::from(x));
    i64 => "<i8", "int64", |x| x.to_string();
    i32 => "<i4", "int32", |x| x.to_string();
    i16 => "<i2", "int16", |x| x.to_string();
    i8 => "|i1", "int8", |x| x.to_string();
    u64 => "<u8", "uint64", |x| x.to_string();
    u32 => "<u4", "uint32", |x| x.to_string();
    u16 => "<u2", "uint16", |x| x.to_string();
    u8 => "|u1", "uint8", |x| x.to_string();
}

impl sealed::Sealed for bool {
    const NUMPY_NAME: &'static str = "bool";
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    fn get_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn get_be(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn repr(self) -> String {
        if self { "True" } else { "False" }.to_owned()
    }
}

impl Element for bool {
    const DTYPE: &'static str = "|b1";
    const SIZE: usize = 1;
}

/// A numpy array (or numpy scalar) with a plain dtype: the dtype string,
/// the shape and the raw C-order buffer. numpy scalars (`np.float64(1.5)`)
/// are 0-d arrays with `scalar` set.
///
/// Structured (record) arrays whose fields hold no Python objects travel
/// too: their `dtype` is the description the `.npy` format uses
/// (`numpy.lib.format.dtype_to_descr`), e.g. `[('a', '<f8'), ('b', '<i4')]`,
/// with padding as unnamed void fields, so fields, offsets, byte orders and
/// sub-arrays round trip (padding bytes are not data and are not kept, as in
/// numpy's own copies; an `align=True` dtype comes back with the same
/// offsets but without the flag). Arrays with object fields are refs.
///
/// ```
/// use snakebridge::NdArray;
/// let a = NdArray::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!((a.dtype.as_str(), a.len()), ("<f8", 6));
/// assert_eq!(a.to_vec::<f64>().unwrap()[5], 6.0);
/// assert!(a.to_vec::<i64>().is_err()); // dtype mismatch
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NdArray {
    /// numpy's `dtype.str`: `"<f8"`, `"|b1"`, `"<i4"`, `"<U5"`, ...
    pub dtype: String,
    /// The shape; empty for 0-d arrays and scalars.
    pub shape: Vec<usize>,
    /// The elements in C order, `len() * itemsize` bytes.
    pub data: Bytes,
    /// True when this is a numpy scalar rather than an array.
    pub scalar: bool,
}

impl NdArray {
    /// An array of any dtype from its parts; checks that the buffer holds
    /// exactly the elements of the shape when the dtype's item size is known.
    pub fn new(dtype: impl Into<String>, shape: Vec<usize>, data: Bytes) -> Result<NdArray> {
        let a = NdArray {
            dtype: dtype.into(),
            shape,
            data,
            scalar: false,
        };
        a.check_layout()
            .map_err(|why| Error::conversion("a consistent ndarray", why))?;
        Ok(a)
    }

    /// An array of `shape` from elements in C order; fails with
    /// [`Error::Conversion`] when the shape's product is not `data.len()`.
    pub fn from_vec<T: Element>(shape: Vec<usize>, data: Vec<T>) -> Result<NdArray> {
        let count = element_count(&shape);
        if count != Some(data.len()) {
            return Err(Error::conversion(
                format!(
                    "{} elements for shape {}",
                    count.map_or_else(|| "more than fit in memory".to_owned(), |n| n.to_string()),
                    ShapeFmt(&shape)
                ),
                format!("{} elements", data.len()),
            ));
        }
        let mut out = Vec::with_capacity(data.len() * T::SIZE);
        for x in data {
            x.put_le(&mut out);
        }
        Ok(NdArray {
            dtype: T::DTYPE.to_owned(),
            shape,
            data: Bytes::from(out),
            scalar: false,
        })
    }

    /// A numpy scalar (`np.float64(x)` for an `f64`).
    pub fn scalar<T: Element>(x: T) -> NdArray {
        let mut out = Vec::with_capacity(T::SIZE);
        x.put_le(&mut out);
        NdArray {
            dtype: T::DTYPE.to_owned(),
            shape: Vec::new(),
            data: Bytes::from(out),
            scalar: true,
        }
    }

    /// The elements in C order; fails with [`Error::Conversion`] when the
    /// dtype is not `T`'s (big-endian buffers of `T` are converted) or the
    /// buffer does not match the shape.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let big_endian = if self.dtype == T::DTYPE {
            false
        } else if T::SIZE > 1 && self.dtype.strip_prefix('>') == T::DTYPE.get(1..) {
            true
        } else {
            return Err(Error::conversion(
                format!("ndarray of dtype {}", T::DTYPE),
                format!("ndarray of dtype {}", self.dtype),
            ));
        };
        let count = element_count(&self.shape);
        if count.and_then(|n| n.checked_mul(T::SIZE)) != Some(self.data.len()) {
            return Err(Error::conversion(
                match count.and_then(|n| n.checked_mul(T::SIZE)) {
                    Some(bytes) => {
                        format!("{bytes} bytes of data for shape {}", ShapeFmt(&self.shape))
                    }
                    None => format!("a representable size for shape {}", ShapeFmt(&self.shape)),
                },
                format!("{} bytes", self.data.len()),
            ));
        }
        let chunks = self.data.chunks_exact(T::SIZE);
        Ok(if big_endian {
            chunks.map(T::get_be).collect()
        } else {
            chunks.map(T::get_le).collect()
        })
    }

    /// The elements in C order, borrowed from the buffer without a copy: a
    /// result from a local worker's shared-memory arena is read in place
    /// (ADR 0010). Fails with [`Error::Conversion`] when the dtype is not
    /// `T`'s in this machine's byte order, `T` is `bool` (a byte other than
    /// 0 or 1 is not a valid `bool`: use [`NdArray::to_vec`]), the buffer
    /// does not match the shape, or it is not aligned for `T` (arena buffers
    /// always are; [`NdArray::to_vec`] copies any buffer once).
    ///
    /// ```
    /// use snakebridge::NdArray;
    /// let a = NdArray::from_vec(vec![3], vec![1.5f64, 2.5, 3.5]).unwrap();
    /// if let Ok(x) = a.as_slice::<f64>() {
    ///     assert_eq!(x, &[1.5, 2.5, 3.5]);
    /// }
    /// assert!(a.as_slice::<i64>().is_err());
    /// ```
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        let native = if cfg!(target_endian = "little") {
            T::DTYPE
        } else {
            // Big-endian machines: numpy's native arrays say '>'.
            return Err(Error::conversion(
                "a little-endian machine",
                "a big-endian one (use to_vec)",
            ));
        };
        if T::DTYPE == <bool as Element>::DTYPE {
            return Err(Error::conversion("a borrowable dtype", "bool (use to_vec)"));
        }
        if self.dtype != native {
            return Err(Error::conversion(
                format!("ndarray of dtype {}", T::DTYPE),
                format!("ndarray of dtype {}", self.dtype),
            ));
        }
        let expected = element_count(&self.shape).and_then(|n| n.checked_mul(T::SIZE));
        if expected != Some(self.data.len()) {
            return Err(Error::conversion(
                format!("a buffer matching shape {}", ShapeFmt(&self.shape)),
                format!("{} bytes", self.data.len()),
            ));
        }
        // SAFETY: `T` is one of the sealed numeric types (bool excluded
        // above), for which every bit pattern is a valid value; `align_to`
        // only yields a middle part that is aligned for `T`.
        let (head, body, tail) = unsafe { self.data.align_to::<T>() };
        if !head.is_empty() || !tail.is_empty() {
            return Err(Error::conversion(
                format!("a buffer aligned for {}", T::NUMPY_NAME),
                "an unaligned buffer (use to_vec)",
            ));
        }
        Ok(body)
    }

    /// The number of elements: the product of the shape (1 for 0-d).
    pub fn len(&self) -> usize {
        element_count(&self.shape).unwrap_or(usize::MAX)
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The size of one element in bytes, when the dtype string says it
    /// (`"<f8"` → 8, `"<U5"` → 20).
    pub fn itemsize(&self) -> Option<usize> {
        dtype_itemsize(&self.dtype)
    }

    /// Checks that the buffer length matches shape and dtype (when the item
    /// size is known) and that a scalar is 0-d; the reason when not.
    pub(crate) fn check_layout(&self) -> std::result::Result<(), String> {
        if self.scalar && !self.shape.is_empty() {
            return Err(format!(
                "a numpy scalar with shape {}",
                ShapeFmt(&self.shape)
            ));
        }
        let Some(count) = element_count(&self.shape) else {
            return Err(format!("shape {} overflows", ShapeFmt(&self.shape)));
        };
        if let Some(size) = self.itemsize() {
            let expected = count.checked_mul(size);
            if expected != Some(self.data.len()) {
                return Err(format!(
                    "{} bytes of data for dtype {} and shape {} (expected {})",
                    self.data.len(),
                    self.dtype,
                    ShapeFmt(&self.shape),
                    expected.map_or_else(|| "more than fits".to_owned(), |n| n.to_string())
                ));
            }
        }
        Ok(())
    }

    /// Reads the single element of a 0-d array of `T`.
    pub(crate) fn scalar_of<T: Element>(&self) -> Option<T> {
        if !self.shape.is_empty() {
            return None;
        }
        self.to_vec::<T>().ok()?.first().copied()
    }
}

fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The item size of a numpy `dtype.str` (`[<>|=]` kind digits `[unit]`).
pub(crate) fn dtype_itemsize(dtype: &str) -> Option<usize> {
    let rest = dtype.strip_prefix(['<', '>', '|', '=']).unwrap_or(dtype);
    let mut chars = rest.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    if digits.is_empty() || !(tail.is_empty() || tail.starts_with('[')) {
        return None;
    }
    let n: usize = digits.parse().ok()?;
    match kind {
        'U' => n.checked_mul(4),
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' => Some(n),
        _ => None,
    }
}

/// A shape printed as a Python tuple: `(2, 3)`, `(5,)`, `()`.
struct ShapeFmt<'a>(&'a [usize]);

impl fmt::Display for ShapeFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('(')?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            f.write_char(',')?;
        }
        f.write_char(')')
    }
}

/// Element reprs and numpy type name of a known dtype, when the buffer is
/// consistent.
fn element_reprs(a: &NdArray) -> Option<(Vec<String>, &'static str)> {
    fn reprs<T: Element>(a: &NdArray) -> Option<(Vec<String>, &'static str)> {
        let items = a.to_vec::<T>().ok()?;
        Some((
            items.into_iter().map(sealed::Sealed::repr).collect(),
            T::NUMPY_NAME,
        ))
    }
    let le = a.dtype.replacen('>', "<", 1);
    match le.as_str() {
        "<f8" => reprs::<f64>(a),
        "<f4" => reprs::<f32>(a),
        "<i8" => reprs::<i64>(a),
        "<i4" => reprs::<i32>(a),
        "<i2" => reprs::<i16>(a),
        "|i1" => reprs::<i8>(a),
        "<u8" => reprs::<u64>(a),
        "<u4" => reprs::<u32>(a),
        "<u2" => reprs::<u16>(a),
        "|u1" => reprs::<u8>(a),
        "|b1" => reprs::<bool>(a),
        _ => None,
    }
}

/// Arrays with more elements than this print their shape only; so do
/// arrays that would print more nested lists than this (an empty array of
/// shape `(10**18, 0)` holds no element but 10**18 empty lists).
const ARRAY_PRINT_LIMIT: usize = 1000;

/// How many lists `write_nested` prints for `shape` (saturating).
fn nested_lists(shape: &[usize]) -> usize {
    let mut lists = 0usize;
    let mut prefix = 1usize;
    for &d in shape {
        lists = lists.saturating_add(prefix);
        prefix = prefix.saturating_mul(d);
    }
    lists
}

impl fmt::Display for NdArray {
    /// numpy-like: `array([[1.0, 2.0], [3.0, 4.0]], dtype='<f8')`, scalars as
    /// `np.float64(1.5)`, large or exotic arrays as
    /// `array(shape=(1024, 1024), dtype='<f8')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = (self.len() <= ARRAY_PRINT_LIMIT
            && nested_lists(&self.shape) <= ARRAY_PRINT_LIMIT)
            .then(|| element_reprs(self))
            .flatten()
            .filter(|(items, _)| items.len() == self.len());
        match shown {
            Some((items, name)) if self.scalar => write!(f, "np.{name}({})", items[0]),
            Some((items, _)) => {
                f.write_str("array(")?;
                write_nested(f, &self.shape, &items)?;
                write!(f, ", dtype='{}')", self.dtype)
            }
            None => write!(
                f,
                "{}(shape={}, dtype='{}')",
                if self.scalar { "scalar" } else { "array" },
                ShapeFmt(&self.shape),
                self.dtype
            ),
        }
    }
}

fn write_nested(f: &mut fmt::Formatter<'_>, shape: &[usize], items: &[String]) -> fmt::Result {
    match shape.split_first() {
        None => f.write_str(items.first().map_or("", String::as_str)),
        Some((&n, rest)) => {
            let stride = element_count(rest).unwrap_or(0);
            f.write_char('[')?;
            for i in 0..n {
                if i > 0 {
                    f.write_str(", ")?;
                }
                let part = items.get(i * stride..(i + 1) * stride).unwrap_or(&[]);
                write_nested(f, rest, part)?;
            }
            f.write_char(']')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_array_with_a_huge_dimension_prints_its_shape() {
        // Found by fuzzing: this printed 2**60 empty lists, forever.
        let a = NdArray {
            dtype: "<i8".into(),
            shape: vec![1 << 60, 0, 4],
            data: bytes::Bytes::new(),
            scalar: false,
        };
        a.check_layout().unwrap();
        assert_eq!(
            a.to_string(),
            "array(shape=(1152921504606846976, 0, 4), dtype='<i8')"
        );
        let small = NdArray {
            shape: vec![2, 0],
            ..a
        };
        assert_eq!(small.to_string(), "array([[], []], dtype='<i8')");
    }

    #[test]
    fn an_overflowing_shape_is_an_error_not_a_panic() {
        let a = NdArray {
            dtype: "<f8".into(),
            shape: vec![usize::MAX / 4],
            data: bytes::Bytes::new(),
            scalar: false,
        };
        let err = a.to_vec::<f64>().unwrap_err();
        assert!(err.to_string().contains("representable size"), "{err}");
    }

    #[test]
    fn ndarray_from_vec_to_vec_million() {
        let data: Vec<f64> = (0..1_000_000).map(|i| f64::from(i) * 0.5).collect();
        let a = NdArray::from_vec(vec![1000, 1000], data.clone()).unwrap();
        assert_eq!(
            (a.dtype.as_str(), a.len(), a.ndim(), a.data.len()),
            ("<f8", 1_000_000, 2, 8_000_000)
        );
        assert_eq!(&a.data[8..16], &0.5f64.to_le_bytes());
        assert_eq!(a.to_vec::<f64>().unwrap(), data);
        let err = a.to_vec::<f32>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected ndarray of dtype <f4, got ndarray of dtype <f8"
        );
    }

    #[test]
    fn ndarray_every_element_type() {
        fn round<T: Element + PartialEq + std::fmt::Debug>(items: Vec<T>, dtype: &str) {
            let a = NdArray::from_vec(vec![items.len()], items.clone()).unwrap();
            assert_eq!(a.dtype, dtype);
            assert_eq!(a.itemsize(), Some(T::SIZE));
            assert_eq!(a.to_vec::<T>().unwrap(), items);
        }
        round(vec![1.5f64, f64::NAN.min(0.0), -0.0], "<f8");
        round(vec![1.5f32, -2.0], "<f4");
        round(vec![i64::MIN, i64::MAX], "<i8");
        round(vec![i32::MIN, 7], "<i4");
        round(vec![i16::MIN, 7], "<i2");
        round(vec![i8::MIN, 7], "|i1");
        round(vec![u64::MAX, 7], "<u8");
        round(vec![u32::MAX, 7], "<u4");
        round(vec![u16::MAX, 7], "<u2");
        round(vec![u8::MAX, 7], "|u1");
        round(vec![true, false, true], "|b1");
        round(Vec::<f64>::new(), "<f8");
    }

    #[test]
    fn ndarray_checks() {
        let err = NdArray::from_vec(vec![2, 3], vec![1i64; 5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 6 elements for shape (2, 3), got 5 elements"
        );
        assert!(NdArray::from_vec(vec![usize::MAX, 2], vec![1u8]).is_err());
        let be = NdArray::new(
            ">i4",
            vec![2],
            Bytes::from_static(&[0, 0, 1, 0, 255, 255, 255, 255]),
        )
        .unwrap();
        assert_eq!(be.to_vec::<i32>().unwrap(), vec![256, -1]);
        assert!(be.to_vec::<u32>().is_err());
        let short = NdArray {
            dtype: "<f8".into(),
            shape: vec![2],
            data: Bytes::from_static(&[0; 8]),
            scalar: false,
        };
        assert_eq!(
            short.to_vec::<f64>().unwrap_err().to_string(),
            "expected 16 bytes of data for shape (2,), got 8 bytes"
        );
        assert!(short.check_layout().is_err());
        assert!(NdArray::new("<f8", vec![2], Bytes::from_static(&[0; 8])).is_err());
        assert!(NdArray::new("<U2", vec![1], Bytes::from_static(&[0; 8])).is_ok());
        assert!(
            NdArray::new("|O", vec![1], Bytes::from_static(&[0; 3])).is_ok(),
            "unknown item size: not checked"
        );
        let scalar = NdArray::scalar(2.5f64);
        assert!(scalar.scalar && scalar.shape.is_empty() && scalar.len() == 1);
        assert_eq!(scalar.scalar_of::<f64>(), Some(2.5));
        assert!(
            NdArray {
                shape: vec![1],
                ..scalar
            }
            .check_layout()
            .is_err()
        );
        for (dtype, size) in [
            ("<f8", Some(8)),
            ("|b1", Some(1)),
            ("<U5", Some(20)),
            ("<M8[ns]", Some(8)),
            ("|S3", Some(3)),
            ("<c16", Some(16)),
            ("|O", None),
            ("", None),
            ("<f", None),
            ("<f8x", None),
        ] {
            assert_eq!(dtype_itemsize(dtype), size, "{dtype}");
        }
    }
}
