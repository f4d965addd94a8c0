//! Helpers shared by the value layer's unit tests.

use std::fmt;

use snakebridge_proto::v1 as pb;

use crate::convert::{FromValue, IntoValue};
use crate::error::Error;
use crate::value::{Time, TzInfo, Value};

/// A `str`.
pub(crate) fn s(x: &str) -> Value {
    Value::Str(x.into())
}

/// An `int` from its decimal digits, any size.
pub(crate) fn big(text: &str) -> Value {
    Value::big(text.parse().unwrap())
}

/// A `list`.
pub(crate) fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

/// A time of day with no fold.
pub(crate) fn time(h: u8, m: u8, s: u8, us: u32, tz: Option<TzInfo>) -> Time {
    Time {
        hour: h,
        minute: m,
        second: s,
        microsecond: us,
        tz,
        fold: false,
    }
}

/// A handle to an `re.Pattern` whose repr is `repr`.
pub(crate) fn handle(id: u64, repr: &str) -> pb::RefHandle {
    pb::RefHandle {
        id,
        session_id: "s1".into(),
        worker_instance: 7,
        type_name: "Pattern".into(),
        type_module: "re".into(),
        repr: repr.into(),
    }
}

/// `into` becomes `want`, and `want` extracts back to `into`.
pub(crate) fn both<T: IntoValue + FromValue + PartialEq + fmt::Debug + Clone>(
    into: T,
    want: Value,
) {
    assert_eq!(into.clone().into_value(), want, "{into:?} into_value");
    assert_eq!(
        T::from_value(want.clone()).unwrap(),
        into,
        "{want} from_value"
    );
}

/// Extracting `T` from `v` fails with exactly `message`.
pub(crate) fn fails<T: FromValue + fmt::Debug>(v: Value, message: &str) {
    let err = T::from_value(v).unwrap_err();
    assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
    assert_eq!(err.to_string(), message);
}
