//! Python parameter annotations to Rust argument types (ADR 0014).
//!
//! An exact annotation takes a Rust type: `bool` -> `bool`, `int` ->
//! `impl Into<i64>`, `float` -> `impl Into<f64>`, `str` (or
//! `LiteralString`) -> `impl Into<String>`; `Literal[True] | Literal[False]`
//! (a flag's merged overloads) is `bool`. `T | None` (`Optional[T]`) of
//! one of these takes `Option<bool | i64 | f64 | &str>`, except on the
//! builder method of a parameter whose default is None, which takes the
//! plain type (leaving the method out passes None). Anything else (no
//! annotation, `ArrayLike`, other unions, containers, classes, `*args` and
//! `**kwargs`) keeps `impl IntoValue`.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ir::{ParamKind, Parameter};
use crate::types::{Ann, base_name, is_none, parse};

/// A Python type a parameter can take exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bool,
    Int,
    Float,
    Str,
}

/// How a generated function or builder method takes a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    /// `impl IntoValue`.
    Wide,
    /// `bool`, `impl Into<i64>`, `impl Into<f64>`, `impl Into<String>`.
    Exact(Scalar),
    /// `Option<bool>`, `Option<i64>`, `Option<f64>`, `Option<&str>`.
    Optional(Scalar),
}

impl ParamType {
    /// The type of `p` as an argument (a required one) or a builder method
    /// (one with a default).
    pub(crate) fn of(p: &Parameter) -> ParamType {
        if matches!(p.kind, ParamKind::VarPositional | ParamKind::VarKeyword) {
            return ParamType::Wide;
        }
        let Some(ann) = p.annotation.as_deref().and_then(parse) else {
            return ParamType::Wide;
        };
        let default_is_none = p
            .default
            .as_ref()
            .is_some_and(|d| d.literal && d.value.is_null());
        match exact(&ann) {
            Some((s, false)) => ParamType::Exact(s),
            Some((s, true)) if default_is_none => ParamType::Exact(s),
            Some((s, true)) => ParamType::Optional(s),
            None => ParamType::Wide,
        }
    }

    /// The Rust type of the argument.
    pub(crate) fn rust(self) -> TokenStream {
        let sb = quote!(::snakebridge::__private);
        match self {
            ParamType::Wide => quote!(impl #sb::IntoValue),
            ParamType::Exact(Scalar::Bool) => quote!(bool),
            ParamType::Exact(s) => {
                let t = s.owned();
                quote!(impl ::core::convert::Into<#t>)
            }
            ParamType::Optional(Scalar::Str) => quote!(::core::option::Option<&str>),
            ParamType::Optional(s) => {
                let t = s.owned();
                quote!(::core::option::Option<#t>)
            }
        }
    }

    /// The statement that turns the argument `local` into its Rust type
    /// (`let x: i64 = Into::into(x);`), when it needs one; `local` is then
    /// `IntoValue`.
    pub(crate) fn convert(self, local: &Ident) -> Option<TokenStream> {
        match self {
            ParamType::Exact(s) if s != Scalar::Bool => {
                let t = s.owned();
                Some(quote!(let #local: #t = ::core::convert::Into::into(#local);))
            }
            _ => None,
        }
    }
}

impl Scalar {
    fn owned(self) -> TokenStream {
        match self {
            Scalar::Bool => quote!(bool),
            Scalar::Int => quote!(i64),
            Scalar::Float => quote!(f64),
            Scalar::Str => quote!(::std::string::String),
        }
    }
}

/// The scalar of `T`, or of `T | None` (then `true`).
fn exact(ann: &Ann) -> Option<(Scalar, bool)> {
    let none = Ann::Name("None".into(), Vec::new());
    let members: Vec<&Ann> = match ann {
        Ann::Union(members) => members.iter().collect(),
        Ann::Name(name, args) => match (base_name(name), args.as_slice()) {
            ("Optional", [one]) => vec![one, &none],
            ("Union", members) => members.iter().collect(),
            _ => vec![ann],
        },
        Ann::Ellipsis => return None,
    };
    let (nones, rest): (Vec<&Ann>, Vec<&Ann>) = members
        .into_iter()
        .partition(|m| matches!(m, Ann::Name(n, a) if a.is_empty() && is_none(n)));
    let scalar = match rest.as_slice() {
        [one] => scalar(one).or_else(|| both_bools(&rest)),
        _ => both_bools(&rest),
    }?;
    (nones.len() <= 1).then_some((scalar, nones.len() == 1))
}

/// `Literal[True] | Literal[False]` (or `Literal[False, True]`): what
/// merging the overloads of a flag gives (pandas' `inplace`) is a `bool`.
fn both_bools(members: &[&Ann]) -> Option<Scalar> {
    let mut seen = [false, false];
    for m in members {
        let Ann::Name(name, args) = m else {
            return None;
        };
        if !matches!(base_name(name), "Literal" | "typing_extensions.Literal") || args.is_empty() {
            return None;
        }
        for a in args {
            match a {
                Ann::Name(v, none) if none.is_empty() && v == "True" => seen[1] = true,
                Ann::Name(v, none) if none.is_empty() && v == "False" => seen[0] = true,
                _ => return None,
            }
        }
    }
    (seen == [true, true]).then_some(Scalar::Bool)
}

fn scalar(ann: &Ann) -> Option<Scalar> {
    let Ann::Name(name, args) = ann else {
        return None;
    };
    if !args.is_empty() {
        return None;
    }
    match base_name(name) {
        "bool" => Some(Scalar::Bool),
        "int" => Some(Scalar::Int),
        "float" => Some(Scalar::Float),
        "str" | "LiteralString" | "typing_extensions.LiteralString" => Some(Scalar::Str),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::DefaultValue;

    fn check(annotation: &str, default: Option<serde_json::Value>, expected: &str) {
        let p = Parameter {
            name: "x".into(),
            kind: ParamKind::PositionalOrKeyword,
            default: default.map(|value| DefaultValue {
                literal: true,
                repr: value.to_string(),
                value,
            }),
            annotation: Some(annotation.into()),
        };
        let got = ParamType::of(&p).rust().to_string().replace(' ', "");
        assert_eq!(got, expected.replace(' ', ""), "{annotation}");
    }

    const WIDE: &str = "impl ::snakebridge::__private::IntoValue";

    #[test]
    fn exact_annotations_take_rust_types() {
        check("bool", None, "bool");
        check("builtins.int", None, "impl ::core::convert::Into<i64>");
        check("float", None, "impl ::core::convert::Into<f64>");
        check(
            "str",
            None,
            "impl ::core::convert::Into<::std::string::String>",
        );
        check(
            "LiteralString",
            None,
            "impl ::core::convert::Into<::std::string::String>",
        );
        check("int", Some(5.into()), "impl ::core::convert::Into<i64>");
    }

    #[test]
    fn optional_annotations_take_an_option_unless_none_is_the_default() {
        check("int | None", None, "::core::option::Option<i64>");
        check(
            "None | float",
            Some(1.5.into()),
            "::core::option::Option<f64>",
        );
        check("Optional[str]", None, "::core::option::Option<&str>");
        check(
            "typing.Union[bool, None]",
            None,
            "::core::option::Option<bool>",
        );
        // Leaving the builder method out passes None.
        check(
            "str | None",
            Some(serde_json::Value::Null),
            "impl ::core::convert::Into<::std::string::String>",
        );
    }

    #[test]
    fn wide_annotations_keep_into_value() {
        for wide in [
            "ArrayLike",
            "int | str",
            "int | float",
            "int | None | str",
            "list[int]",
            "SupportsIndex",
            "_str",
            "Literal['a']",
            "None",
            "Optional[list[int]]",
            "int | None | None",
            "Literal[True]",
            "Literal[True] | Literal['x']",
        ] {
            check(wide, None, WIDE);
        }
        let variadic = Parameter {
            name: "args".into(),
            kind: ParamKind::VarPositional,
            default: None,
            annotation: Some("int".into()),
        };
        assert_eq!(ParamType::of(&variadic), ParamType::Wide);
        let bare = Parameter {
            kind: ParamKind::PositionalOrKeyword,
            annotation: None,
            ..variadic
        };
        assert_eq!(ParamType::of(&bare), ParamType::Wide);
    }
}
