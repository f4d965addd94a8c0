//! [`Kwargs`]: the keyword arguments of a call.

use super::Value;
use crate::convert::IntoValue;

/// Keyword arguments of a call, in order. Build them with the
/// [`kwargs!`](crate::kwargs) macro or [`Kwargs::push`].
///
/// ```
/// use snakebridge::Kwargs;
/// let mut kw = Kwargs::new();
/// kw.push("axis", 0);
/// kw.push("keepdims", true);
/// assert_eq!(kw.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Kwargs(Vec<(String, Value)>);

impl Kwargs {
    /// No keyword arguments.
    pub fn new() -> Kwargs {
        Kwargs(Vec::new())
    }

    /// Adds `name=value`.
    pub fn push(&mut self, name: impl Into<String>, value: impl IntoValue) {
        self.0.push((name.into(), value.into_value()));
    }

    /// `self` with `name=value` added, for chaining.
    pub fn with(mut self, name: impl Into<String>, value: impl IntoValue) -> Kwargs {
        self.push(name, value);
        self
    }

    /// The value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The arguments in order.
    pub fn iter(&self) -> std::slice::Iter<'_, (String, Value)> {
        self.0.iter()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The arguments as a vector.
    pub fn into_inner(self) -> Vec<(String, Value)> {
        self.0
    }
}

impl From<Vec<(String, Value)>> for Kwargs {
    fn from(v: Vec<(String, Value)>) -> Kwargs {
        Kwargs(v)
    }
}

impl<K: Into<String>, V: IntoValue> FromIterator<(K, V)> for Kwargs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Kwargs {
        Kwargs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: Into<String>, V: IntoValue> Extend<(K, V)> for Kwargs {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.0
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into_value())));
    }
}

impl IntoIterator for Kwargs {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Kwargs {
    type Item = &'a (String, Value);
    type IntoIter = std::slice::Iter<'a, (String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwargs_basics() {
        let mut kw = Kwargs::new();
        assert!(kw.is_empty());
        kw.push("axis", 0);
        let kw = kw.with(String::from("keepdims"), true);
        assert_eq!(kw.len(), 2);
        assert_eq!(kw.get("axis"), Some(&Value::Int(0)));
        assert_eq!(kw.get("nope"), None);
        let names: Vec<&str> = kw.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["axis", "keepdims"]);
        let mut collected: Kwargs = vec![("a", 1)].into_iter().collect();
        collected.extend([("b", 2)]);
        let pairs: Vec<(String, Value)> = collected.clone().into_iter().collect();
        assert_eq!(Kwargs::from(pairs.clone()), collected);
        assert_eq!(collected.into_inner(), pairs);
        assert_eq!((&kw).into_iter().count(), 2);
    }
}
