//! `args!` and `kwargs!`: call arguments from Rust expressions.

/// Positional arguments: each expression goes through
/// [`IntoValue`](crate::IntoValue), giving a `Vec<Value>`.
///
/// ```
/// use snakebridge::{args, Value};
/// let a = args![16, "text", 2.5, vec![1, 2], None::<i64>];
/// assert_eq!(a.len(), 5);
/// assert_eq!(a[0], Value::Int(16));
/// assert_eq!(a[4], Value::None);
/// let none: Vec<Value> = args![];
/// assert!(none.is_empty());
/// ```
#[macro_export]
macro_rules! args {
    () => {
        ::std::vec::Vec::<$crate::Value>::new()
    };
    ($($arg:expr),+ $(,)?) => {
        ::std::vec![$($crate::IntoValue::into_value($arg)),+]
    };
}

/// Keyword arguments, in order: `name => value` pairs giving a
/// [`Kwargs`](crate::Kwargs). Names are anything `Into<String>`; values go
/// through [`IntoValue`](crate::IntoValue).
///
/// ```
/// use snakebridge::{kwargs, Value};
/// let kw = kwargs! {"axis" => 0, "keepdims" => true,};
/// assert_eq!(kw.len(), 2);
/// assert_eq!(kw.get("keepdims"), Some(&Value::Bool(true)));
/// assert!(kwargs! {}.is_empty());
/// ```
#[macro_export]
macro_rules! kwargs {
    () => {
        $crate::Kwargs::new()
    };
    ($($name:expr => $value:expr),+ $(,)?) => {{
        let mut kwargs = $crate::Kwargs::new();
        $(kwargs.push($name, $value);)+
        kwargs
    }};
}
