//! Python annotations (source text) to Rust return types.
//!
//! int -> `i64`, float -> `f64`, str -> `String`, bool, bytes -> `Bytes`,
//! None -> `()`, `list[T]`/`Sequence[T]` -> `Vec<T>`, `dict[K, V]` ->
//! `HashMap<K, V>`, `tuple[A, B]` -> `(A, B)`, `tuple[T, ...]` -> `Vec<T>`,
//! `Optional[T]` / `T | None` -> `Option<T>`, a class of the same module
//! (with or without type arguments: `Series[int]`) -> its wrapper;
//! `Iterator[T]`, `Generator[T, ...]`, `AsyncIterator[T]`,
//! `AsyncGenerator[T, ...]` -> `TypedStream<T>` (what the worker sends for
//! a generator or another iterator is a stream handle; `Iterable[T]` is not
//! mapped, as a list or a dict is iterable too); other unions and everything
//! else -> `Value`.

use proc_macro2::TokenStream;
use quote::quote;

/// A parsed annotation: a dotted name with optional subscripts, or a union.
#[derive(Debug, PartialEq)]
pub(crate) enum Ann {
    Name(String, Vec<Ann>),
    Union(Vec<Ann>),
    Ellipsis,
}

/// The Rust type for an annotation; `lookup` maps a class name of the
/// module being rendered to its wrapper type.
pub(crate) fn rust_type(
    annotation: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<TokenStream>,
) -> TokenStream {
    match annotation.and_then(parse) {
        Some(ann) => map(&ann, lookup),
        None => value(),
    }
}

/// The Rust type of the items a `_stream` wrapper gives for a function
/// with this return annotation: `T` of an iterator or generator (the items
/// it yields) and of `list[T]`, `Sequence[T]`, `tuple[T, ...]`, `set[T]`,
/// `frozenset[T]` (a complete result gives its elements); `Value` for
/// everything else (another result is one item: a dict, a str, `T | None`).
pub(crate) fn stream_item(
    annotation: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<TokenStream>,
) -> TokenStream {
    let Some(Ann::Name(name, args)) = annotation.and_then(parse) else {
        return value();
    };
    let element = match (base_name(&name), args.as_slice()) {
        ("Iterator" | "AsyncIterator", [t])
        | ("Generator", [t] | [t, _] | [t, _, _])
        | ("AsyncGenerator", [t] | [t, _])
        | (
            "list" | "List" | "Sequence" | "MutableSequence" | "set" | "Set" | "frozenset"
            | "FrozenSet",
            [t],
        )
        | ("tuple" | "Tuple", [t, Ann::Ellipsis]) => t,
        _ => return value(),
    };
    map(element, lookup)
}

/// The parsed annotation text, `None` when it does not parse.
pub(crate) fn parse(annotation: &str) -> Option<Ann> {
    Parser::new(annotation).parse_all()
}

fn value() -> TokenStream {
    quote!(::snakebridge::__private::Value)
}

fn map(ann: &Ann, lookup: &dyn Fn(&str) -> Option<TokenStream>) -> TokenStream {
    match ann {
        Ann::Union(members) => {
            let (none, rest): (Vec<&Ann>, Vec<&Ann>) = members
                .iter()
                .partition(|m| matches!(m, Ann::Name(n, _) if is_none(n)));
            // Members that map to one Rust type are one member
            // (`LiteralString | str` is a `String`).
            let mut types: Vec<TokenStream> = Vec::new();
            for member in rest {
                let t = map(member, lookup);
                if !types.iter().any(|seen| seen.to_string() == t.to_string()) {
                    types.push(t);
                }
            }
            match (none.is_empty(), types.as_slice()) {
                (false, [one]) => quote!(::core::option::Option<#one>),
                (true, [one]) if one.to_string() != value().to_string() => one.clone(),
                _ => value(),
            }
        }
        Ann::Ellipsis => value(),
        Ann::Name(name, args) => named(name, args, lookup),
    }
}

pub(crate) fn is_none(name: &str) -> bool {
    matches!(name, "None" | "NoneType" | "types.NoneType")
}

/// `builtins.int` -> `int`, `typing.Optional` -> `Optional`.
pub(crate) fn base_name(name: &str) -> &str {
    name.strip_prefix("builtins.")
        .or_else(|| name.strip_prefix("typing."))
        .or_else(|| name.strip_prefix("collections.abc."))
        .unwrap_or(name)
}

fn named(name: &str, args: &[Ann], lookup: &dyn Fn(&str) -> Option<TokenStream>) -> TokenStream {
    let base = base_name(name);
    let arg = |i: usize| args.get(i).map_or_else(value, |a| map(a, lookup));
    match (base, args.len()) {
        ("int", 0) => quote!(i64),
        ("float", 0) => quote!(f64),
        ("str" | "LiteralString" | "typing_extensions.LiteralString", 0) => {
            quote!(::std::string::String)
        }
        ("bool", 0) => quote!(bool),
        ("bytes", 0) => quote!(::snakebridge::__private::Bytes),
        (n, 0) if is_none(n) => quote!(()),
        ("list" | "List" | "Sequence" | "MutableSequence", 1) => {
            let t = arg(0);
            quote!(::std::vec::Vec<#t>)
        }
        ("dict" | "Dict" | "Mapping" | "MutableMapping", 2) => {
            let (k, v) = (arg(0), arg(1));
            if is_hashable(&args[0]) {
                quote!(::std::collections::HashMap<#k, #v>)
            } else {
                value()
            }
        }
        ("tuple" | "Tuple", 1) if args[0] == Ann::Name(EMPTY_TUPLE.to_string(), Vec::new()) => {
            quote!(())
        }
        ("tuple" | "Tuple", 2) if args[1] == Ann::Ellipsis => {
            let t = arg(0);
            quote!(::std::vec::Vec<#t>)
        }
        ("tuple" | "Tuple", 1..=8) if !args.contains(&Ann::Ellipsis) => {
            let items = args.iter().map(|a| map(a, lookup));
            quote!((#(#items,)*))
        }
        // Iterators and generators arrive as stream handles: their items,
        // each converted (`Generator[Y, S, R]` yields `Y`; bare: `Value`s).
        ("Iterator" | "AsyncIterator", 0..=1)
        | ("Generator", 0..=3)
        | ("AsyncGenerator", 0..=2) => {
            let t = arg(0);
            quote!(::snakebridge::__private::TypedStream<#t>)
        }
        // typeshed's constants: `pi: Final[float]`
        ("Final" | "ClassVar", 1) => arg(0),
        ("Optional", 1) => {
            let t = arg(0);
            quote!(::core::option::Option<#t>)
        }
        ("Union", _) => map(&Ann::Union(args.iter().map(clone_ann).collect()), lookup),
        // A class of the package, generic or not: pandas-stubs' `Series[S1]`
        // and `Index[bool]` are the `Series` and `Index` wrappers.
        (n, _) => lookup(n).unwrap_or_else(value),
    }
}

/// How `()` in `tuple[()]` is parsed: a name no Python name can be.
const EMPTY_TUPLE: &str = "()";

fn is_hashable(key: &Ann) -> bool {
    matches!(key, Ann::Name(n, a) if a.is_empty() && matches!(n.as_str(), "str" | "int" | "bool"))
}

fn clone_ann(a: &Ann) -> Ann {
    match a {
        Ann::Name(n, args) => Ann::Name(n.clone(), args.iter().map(clone_ann).collect()),
        Ann::Union(m) => Ann::Union(m.iter().map(clone_ann).collect()),
        Ann::Ellipsis => Ann::Ellipsis,
    }
}

/// A tiny recursive-descent parser over annotation text.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.trim();
        let text = text
            .strip_prefix(['\'', '"'])
            .and_then(|t| t.strip_suffix(['\'', '"']))
            .unwrap_or(text);
        Parser { text, pos: 0 }
    }

    fn parse_all(mut self) -> Option<Ann> {
        let ann = self.union()?;
        self.skip_ws();
        (self.pos == self.text.len()).then_some(ann)
    }

    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let found = self.text[self.pos..].starts_with(token);
        if found {
            self.pos += token.len();
        }
        found
    }

    fn union(&mut self) -> Option<Ann> {
        let mut members = vec![self.atom()?];
        while self.eat("|") {
            members.push(self.atom()?);
        }
        Some(if members.len() == 1 {
            members.remove(0)
        } else {
            Ann::Union(members)
        })
    }

    fn atom(&mut self) -> Option<Ann> {
        if self.eat("...") {
            return Some(Ann::Ellipsis);
        }
        // The empty tuple of `tuple[()]` (numpy's 0-d shapes).
        if self.eat("()") {
            return Some(Ann::Name(EMPTY_TUPLE.to_string(), Vec::new()));
        }
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        let name = rest[..len].to_string();
        self.pos += len;
        let mut args = Vec::new();
        if self.eat("[") && !self.eat("]") {
            loop {
                if self.eat("[") {
                    // Callable[[A, B], R]: give up on the argument list.
                    while !self.eat("]") {
                        self.union()?;
                        self.eat(",");
                    }
                    args.push(Ann::Ellipsis);
                } else {
                    args.push(self.union()?);
                }
                if self.eat("]") {
                    break;
                }
                if !self.eat(",") {
                    return None;
                }
            }
        }
        Some(Ann::Name(name, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(annotation: &str, expected: &str) {
        let lookup = |n: &str| (n == "Counter").then(|| quote!(Counter));
        let got = rust_type(Some(annotation), &lookup)
            .to_string()
            .replace(' ', "");
        assert_eq!(got, expected.replace(' ', ""), "{annotation}");
    }

    #[test]
    fn stream_items_are_the_elements_of_iterators_and_containers() {
        let lookup = |n: &str| (n == "Counter").then(|| quote!(Counter));
        let cases = [
            ("Iterator[int]", "i64"),
            (
                "collections.abc.Generator[str, None, None]",
                "::std::string::String",
            ),
            ("AsyncGenerator[float, None]", "f64"),
            ("list[Counter]", "Counter"),
            ("Sequence[int | None]", "::core::option::Option<i64>"),
            ("tuple[bool, ...]", "bool"),
            ("frozenset[str]", "::std::string::String"),
            // Anything else is one item, or items of unknown types.
            ("tuple[int, str]", "::snakebridge::__private::Value"),
            ("list[int] | None", "::snakebridge::__private::Value"),
            ("dict[str, int]", "::snakebridge::__private::Value"),
            ("Iterable[int]", "::snakebridge::__private::Value"),
            ("Iterator", "::snakebridge::__private::Value"),
            ("int", "::snakebridge::__private::Value"),
        ];
        for (annotation, expected) in cases {
            let got = stream_item(Some(annotation), &lookup)
                .to_string()
                .replace(' ', "");
            assert_eq!(got, expected.replace(' ', ""), "{annotation}");
        }
        assert_eq!(
            stream_item(None, &lookup).to_string().replace(' ', ""),
            "::snakebridge::__private::Value"
        );
    }

    #[test]
    fn annotations_map_to_rust_types() {
        check("int", "i64");
        check("float", "f64");
        check("str", "::std::string::String");
        check("builtins.bool", "bool");
        check("bytes", "::snakebridge::__private::Bytes");
        check("None", "()");
        check("list[int]", "::std::vec::Vec<i64>");
        check("List[str]", "::std::vec::Vec<::std::string::String>");
        check(
            "dict[str, float]",
            "::std::collections::HashMap<::std::string::String, f64>",
        );
        check("dict[object, int]", "::snakebridge::__private::Value");
        check("tuple[int, str]", "(i64, ::std::string::String,)");
        check("tuple[int, ...]", "::std::vec::Vec<i64>");
        check("tuple[()]", "()");
        check("()", "::snakebridge::__private::Value");
        check("Counter | Counter[tuple[()], int]", "Counter");
        check("Optional[int]", "::core::option::Option<i64>");
        check("Final[float]", "f64");
        check("typing.ClassVar[str]", "::std::string::String");
        check("int | None", "::core::option::Option<i64>");
        check("typing.Union[int, None]", "::core::option::Option<i64>");
        check("int | str", "::snakebridge::__private::Value");
        check("LiteralString | str", "::std::string::String");
        check(
            "LiteralString | str | None",
            "::core::option::Option<::std::string::String>",
        );
        check("float | Any", "::snakebridge::__private::Value");
        check("'Counter'", "Counter");
        check("Counter[str]", "Counter");
        check("Counter[int] | Counter[float]", "Counter");
        check("Counter[int] | None", "::core::option::Option<Counter>");
        check("Other[int]", "::snakebridge::__private::Value");
        let stream = |t: &str| format!("::snakebridge::__private::TypedStream<{t}>");
        check("Iterator[int]", &stream("i64"));
        check("typing.Iterator[str]", &stream("::std::string::String"));
        check(
            "collections.abc.Iterator[tuple[int, str]]",
            &stream("(i64, ::std::string::String,)"),
        );
        check("Generator[float, None, None]", &stream("f64"));
        check("Generator[Counter, None, None]", &stream("Counter"));
        check(
            "AsyncIterator[bytes]",
            &stream("::snakebridge::__private::Bytes"),
        );
        check(
            "AsyncGenerator[int | None, None]",
            &stream("::core::option::Option<i64>"),
        );
        check("Iterator", &stream("::snakebridge::__private::Value"));
        check("Iterator[Any]", &stream("::snakebridge::__private::Value"));
        check(
            "Iterator[int] | None",
            &format!("::core::option::Option<{}>", stream("i64")),
        );
        check(
            "list[Iterator[int]]",
            &format!("::std::vec::Vec<{}>", stream("i64")),
        );
        // Containers and other iterables arrive complete (or as plain refs).
        check("Iterable[int]", "::snakebridge::__private::Value");
        check("Iterator[int, str]", "::snakebridge::__private::Value");
        check(
            "Generator[int, None, None, None]",
            "::snakebridge::__private::Value",
        );
        check("ArrayLike", "::snakebridge::__private::Value");
        check("Callable[[int], str]", "::snakebridge::__private::Value");
        check("list[", "::snakebridge::__private::Value");
    }
}
