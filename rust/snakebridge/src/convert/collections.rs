//! Containers: sequences, arrays, options, maps, sets and tuples, checked
//! item by item with the path of a failing item in the error.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};

use super::{FromValue, IntoValue, at, mismatch};
use crate::error::{Error, Result};
use crate::value::{Value, truncated};

// ---------------------------------------------------------------- sequences

fn sequence_items(mut v: Value, expected: &str) -> Result<Vec<Value>> {
    match &mut v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            Ok(std::mem::take(items))
        }
        _ => Err(mismatch(expected, &v)),
    }
}

fn convert_items<T: FromValue, C: FromIterator<T>>(items: Vec<Value>) -> Result<C> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| T::from_value(item).map_err(|e| at(e, i)))
        .collect()
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    /// Accepts `list`, `tuple`, `set` and `frozenset`; 1-d numpy arrays of
    /// the element type; `bytes` for `Vec<u8>`.
    fn from_value(v: Value) -> Result<Self> {
        if let Some(r) = T::vec_from_buffer(&v) {
            return r;
        }
        convert_items(sequence_items(v, "a sequence (list, tuple, set)")?)
    }
}

impl<T: IntoValue> IntoValue for VecDeque<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for VecDeque<T> {
    fn from_value(v: Value) -> Result<Self> {
        Vec::<T>::from_value(v).map(VecDeque::from)
    }
}

impl<T: IntoValue + Clone> IntoValue for &[T] {
    fn into_value(self) -> Value {
        Value::List(self.iter().cloned().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue + Clone> IntoValue for &Vec<T> {
    fn into_value(self) -> Value {
        self.as_slice().into_value()
    }
}

impl<T: IntoValue + Clone, const N: usize> IntoValue for &[T; N] {
    fn into_value(self) -> Value {
        self.as_slice().into_value()
    }
}

impl<T: IntoValue, const N: usize> IntoValue for [T; N] {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue, const N: usize> FromValue for [T; N] {
    /// A sequence of exactly `N` items.
    fn from_value(v: Value) -> Result<Self> {
        let expected = format!("a sequence of {N} items");
        let len = match &v {
            Value::List(i) | Value::Tuple(i) | Value::Set(i) | Value::FrozenSet(i) => Some(i.len()),
            _ => None,
        };
        if len.is_some_and(|n| n != N) {
            return Err(mismatch(expected, &v));
        }
        let items: Vec<T> = Vec::from_value(v)?;
        let n = items.len();
        items
            .try_into()
            .map_err(|_| Error::conversion(expected, format!("{n} items")))
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        match self {
            Some(x) => x.into_value(),
            None => Value::None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    /// `None` for Python `None`, otherwise `Some(T)`.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::None => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

// ---------------------------------------------------------------- maps and sets

fn dict_entries(mut v: Value) -> Result<Vec<(Value, Value)>> {
    match &mut v {
        Value::Dict(entries) => Ok(std::mem::take(entries)),
        _ => Err(mismatch("dict", &v)),
    }
}

fn convert_entries<K: FromValue, V: FromValue, C: FromIterator<(K, V)>>(
    entries: Vec<(Value, Value)>,
) -> Result<C> {
    entries
        .into_iter()
        .map(|(k, v)| {
            let segment = truncated(&k, 40);
            let key = K::from_value(k).map_err(|e| {
                let Error::Conversion { expected, got } = e else {
                    return e;
                };
                Error::conversion(format!("{expected} (a dict key)"), got)
            })?;
            let value = V::from_value(v).map_err(|e| at(e, segment))?;
            Ok((key, value))
        })
        .collect()
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self) -> Value {
        Value::Dict(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue, S: BuildHasher + Default> FromValue
    for HashMap<K, V, S>
{
    fn from_value(v: Value) -> Result<Self> {
        convert_entries(dict_entries(v)?)
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn into_value(self) -> Value {
        Value::Dict(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self> {
        convert_entries(dict_entries(v)?)
    }
}

impl<T: IntoValue, S> IntoValue for HashSet<T, S> {
    fn into_value(self) -> Value {
        Value::Set(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue + Eq + Hash, S: BuildHasher + Default> FromValue for HashSet<T, S> {
    /// Accepts `set`, `frozenset`, `list` and `tuple`.
    fn from_value(v: Value) -> Result<Self> {
        convert_items(sequence_items(v, "a set")?)
    }
}

impl<T: IntoValue> IntoValue for BTreeSet<T> {
    fn into_value(self) -> Value {
        Value::Set(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    /// Accepts `set`, `frozenset`, `list` and `tuple`.
    fn from_value(v: Value) -> Result<Self> {
        convert_items(sequence_items(v, "a set")?)
    }
}

// ---------------------------------------------------------------- tuples

macro_rules! tuple_impls {
    ($($len:literal => ($($name:ident $idx:tt),+);)+) => {$(
        impl<$($name: IntoValue),+> IntoValue for ($($name,)+) {
            fn into_value(self) -> Value {
                Value::Tuple(vec![$(self.$idx.into_value()),+])
            }
        }

        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            /// A `tuple` (or `list`) of exactly this length.
            fn from_value(mut v: Value) -> Result<Self> {
                let items = match &mut v {
                    Value::Tuple(items) | Value::List(items) if items.len() == $len => {
                        std::mem::take(items)
                    }
                    _ => return Err(mismatch(concat!("a tuple of ", $len), &v)),
                };
                let mut items = items.into_iter();
                Ok(($(
                    {
                        let Some(item) = items.next() else {
                            return Err(Error::conversion(concat!("a tuple of ", $len), "fewer items"));
                        };
                        $name::from_value(item).map_err(|e| at(e, $idx))?
                    },
                )+))
            }
        }
    )+};
}

tuple_impls! {
    1 => (A 0);
    2 => (A 0, B 1);
    3 => (A 0, B 1, C 2);
    4 => (A 0, B 1, C 2, D 3);
    5 => (A 0, B 1, C 2, D 3, E 4);
    6 => (A 0, B 1, C 2, D 3, E 4, F 5);
    7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{both, fails, list, s};
    use crate::value::{Date, NdArray, TimeDelta};
    use std::time::Duration;

    #[test]
    fn sequences() {
        both(vec![1i64, 2], list(vec![Value::Int(1), Value::Int(2)]));
        both(Vec::<i64>::new(), list(vec![]));
        both(VecDeque::from(vec![1i64]), list(vec![Value::Int(1)]));
        both(
            [1i64, 2, 3],
            list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        );
        both(
            vec![Some(1i64), None],
            list(vec![Value::Int(1), Value::None]),
        );
        assert_eq!(
            (&[1i64, 2][..]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            (&[1i64, 2]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            (&vec![1i64, 2]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        both(vec![vec!["a".to_owned()]], list(vec![list(vec![s("a")])]));
        for v in [
            Value::Tuple(vec![Value::Int(1)]),
            Value::Set(vec![Value::Int(1)]),
            Value::FrozenSet(vec![Value::Int(1)]),
        ] {
            assert_eq!(v.extract::<Vec<i64>>().unwrap(), vec![1]);
        }
        fails::<Vec<i64>>(
            s("ab"),
            "expected a sequence (list, tuple, set), got str 'ab'",
        );
        fails::<Vec<i64>>(
            list(vec![Value::Int(1), s("x")]),
            "expected i64 at [1], got str 'x'",
        );
        fails::<Vec<Vec<u8>>>(
            list(vec![
                list(vec![]),
                list(vec![Value::Int(1), Value::Int(300)]),
            ]),
            "expected u8 at [1][1], got int 300 (out of range)",
        );
        fails::<[i64; 2]>(
            list(vec![Value::Int(1)]),
            "expected a sequence of 2 items, got list [1]",
        );
        fails::<[i64; 1]>(
            Value::Int(1),
            "expected a sequence (list, tuple, set), got int 1",
        );
    }

    #[test]
    fn arrays_extract_into_vecs() {
        let a = Value::NdArray(NdArray::from_vec(vec![3], vec![1.0f64, 2.0, 3.0]).unwrap());
        assert_eq!(
            a.clone().extract::<Vec<f64>>().unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        fails::<Vec<i64>>(a, "expected ndarray of dtype <i8, got ndarray of dtype <f8");
        let b = Value::NdArray(NdArray::from_vec(vec![2], vec![true, false]).unwrap());
        assert_eq!(b.extract::<Vec<bool>>().unwrap(), vec![true, false]);
        let two_d = Value::NdArray(NdArray::from_vec(vec![1, 1], vec![1u8]).unwrap());
        assert!(two_d.extract::<Vec<u8>>().is_err());
        let i8s = Value::NdArray(NdArray::from_vec(vec![1], vec![1i8]).unwrap());
        fails::<Vec<i64>>(
            i8s.clone(),
            "expected ndarray of dtype <i8, got ndarray of dtype |i1",
        );
        assert_eq!(i8s.extract::<Vec<i8>>().unwrap(), vec![1i8]);
    }

    #[test]
    fn maps_and_sets() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), 1i64);
        m.insert("b".to_owned(), 2);
        both(
            m.clone(),
            Value::Dict(vec![(s("a"), Value::Int(1)), (s("b"), Value::Int(2))]),
        );
        let h: HashMap<String, i64> = m.clone().into_iter().collect();
        let hv = h.clone().into_value();
        assert_eq!(hv.as_dict().map(<[_]>::len), Some(2));
        assert_eq!(hv.extract::<HashMap<String, i64>>().unwrap(), h);
        let int_keys = Value::Dict(vec![
            (Value::Int(1), s("x")),
            (Value::Tuple(vec![]), s("y")),
        ]);
        fails::<HashMap<i64, String>>(int_keys, "expected i64 (a dict key), got tuple ()");
        fails::<BTreeMap<String, i64>>(
            Value::Dict(vec![(s("k"), s("v"))]),
            "expected i64 at ['k'], got str 'v'",
        );
        fails::<BTreeMap<String, Vec<i64>>>(
            Value::Dict(vec![(s("k"), list(vec![Value::None]))]),
            "expected i64 at ['k'][0], got None",
        );
        fails::<HashMap<String, i64>>(list(vec![]), "expected dict, got list []");
        let set: BTreeSet<i64> = [3, 1].into_iter().collect();
        both(set.clone(), Value::Set(vec![Value::Int(1), Value::Int(3)]));
        let hs: HashSet<i64> = set.iter().copied().collect();
        assert_eq!(hs.clone().into_value().type_name(), "set");
        for v in [
            Value::FrozenSet(vec![Value::Int(3), Value::Int(1)]),
            list(vec![Value::Int(1), Value::Int(3), Value::Int(1)]),
        ] {
            assert_eq!(v.clone().extract::<BTreeSet<i64>>().unwrap(), set);
            assert_eq!(v.extract::<HashSet<i64>>().unwrap(), hs);
        }
        fails::<HashSet<i64>>(Value::Dict(vec![]), "expected a set, got dict {}");
    }

    #[test]
    fn tuples_and_options() {
        both((1i64,), Value::Tuple(vec![Value::Int(1)]));
        both(
            (1i64, "a".to_owned()),
            Value::Tuple(vec![Value::Int(1), s("a")]),
        );
        both(
            (1u8, 2u16, 3u32, 4u64, 5i8, 6i16, 7i32, 8i64),
            Value::Tuple((1..=8).map(Value::Int).collect()),
        );
        assert_eq!(
            list(vec![Value::Int(1), Value::Bool(true)])
                .extract::<(i64, bool)>()
                .unwrap(),
            (1, true)
        );
        fails::<(i64, i64)>(
            Value::Tuple(vec![Value::Int(1)]),
            "expected a tuple of 2, got tuple (1,)",
        );
        fails::<(i64, i64)>(
            Value::Tuple(vec![Value::Int(1), s("x")]),
            "expected i64 at [1], got str 'x'",
        );
        fails::<(i64,)>(
            Value::Set(vec![Value::Int(1)]),
            "expected a tuple of 1, got set {1}",
        );
        both(Some(3i64), Value::Int(3));
        both(None::<i64>, Value::None);
        // Nested options collapse: Python has one None.
        assert_eq!(Some(None::<i64>).into_value(), Value::None);
        fails::<Option<i64>>(s("x"), "expected i64, got str 'x'");
        fails::<()>(Value::Int(0), "expected None, got int 0");
        fails::<bool>(Value::Int(1), "expected bool, got int 1");
        fails::<Duration>(
            Value::TimeDelta(TimeDelta::new(-1, 0, 0)),
            "expected a non-negative timedelta, got timedelta -P1D",
        );
        fails::<Duration>(
            Value::Float(1.0),
            "expected a non-negative timedelta, got float 1.0",
        );
        fails::<Date>(
            Value::Str("2024-01-02".into()),
            "expected date, got str '2024-01-02'",
        );
    }
}
