//! Dropping a [`Value`] without recursion: a value nested 100,000 levels
//! deep (which only Rust code can build; the wire refuses more than
//! [`MAX_DEPTH`](super::MAX_DEPTH)) would otherwise overflow the stack of
//! the thread that drops it.

use super::Value;

impl Drop for Value {
    fn drop(&mut self) {
        // Containers of leaves, the common case, drop as usual: one level.
        if !holds_containers(self) {
            return;
        }
        let mut pending = Vec::new();
        take_children(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            if holds_containers(&v) {
                take_children(&mut v, &mut pending);
            }
            // `v` now holds no containers: this drop does not recurse further.
        }
    }
}

fn is_container(v: &Value) -> bool {
    matches!(
        v,
        Value::List(_) | Value::Tuple(_) | Value::Set(_) | Value::FrozenSet(_) | Value::Dict(_)
    )
}

fn holds_containers(v: &Value) -> bool {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            items.iter().any(is_container)
        }
        Value::Dict(entries) => entries
            .iter()
            .any(|(k, v)| is_container(k) || is_container(v)),
        _ => false,
    }
}

/// Moves the children of `v` to `out`, leaving `v` an empty container.
fn take_children(v: &mut Value, out: &mut Vec<Value>) {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            out.append(items);
        }
        Value::Dict(entries) => {
            out.extend(
                std::mem::take(entries)
                    .into_iter()
                    .flat_map(|(k, v)| [k, v]),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Containers nested `depth` levels around an int, alternating kinds.
    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::Int(1), |inner, i| match i % 3 {
            0 => Value::List(vec![inner, Value::Int(2)]),
            1 => Value::Dict(vec![(Value::Str("k".into()), inner)]),
            _ => Value::Tuple(vec![inner]),
        })
    }

    #[test]
    fn a_very_deep_value_drops_without_overflowing_the_stack() {
        // A thread with a small stack: recursion would need far more.
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| drop(nested(1_000_000)))
            .unwrap()
            .join()
            .unwrap();
    }
}
