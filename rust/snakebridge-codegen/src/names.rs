//! Python names to Rust identifiers: case conversion, keywords, collisions.

use std::collections::HashSet;

use proc_macro2::{Ident, Span};

/// Rust keywords (strict and reserved, all editions up to 2024).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: they get a `_` suffix.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// `fooBar`, `HTTPServer`, `weird-name` -> `foo_bar`, `http_server`, `weird_name`.
pub(crate) fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = prev.is_some_and(|p| {
                p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next_lower)
            });
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    identifier_start(out)
}

/// `ndarray`, `struct`, `http_server` -> `Ndarray`, `Struct`, `HttpServer`.
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.extend(chars);
        }
    }
    identifier_start(out)
}

/// `pi`, `maxValue` -> `PI`, `MAX_VALUE`.
pub(crate) fn upper(name: &str) -> String {
    identifier_start(snake(name).to_uppercase())
}

/// A valid Rust identifier from a converted name: characters Rust does not
/// allow in identifiers become `_` (Python's `isidentifier` and
/// `char::is_alphanumeric` allow some, such as `²`, and case conversion
/// can make others), one that cannot start one gets a `_` in front, an
/// empty name becomes `py`, and a keyword that cannot be a raw identifier
/// (`self`, `Self`, ...) gets a `_` after it: here, before [`Names`] sees
/// it, so that `self` and `self_` do not both end up `self_` (found by
/// fuzzing: a class `self` became the type `Self`).
fn identifier_start(s: String) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if unicode_ident::is_xid_continue(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.chars().next() {
        None => "py".to_string(),
        Some(c) if !unicode_ident::is_xid_start(c) && c != '_' => format!("_{s}"),
        Some(_) if NOT_RAW.contains(&s.as_str()) => format!("{s}_"),
        Some(_) => s,
    }
}

/// An identifier token for `name`: raw (`r#type`) for keywords that allow
/// it, `self_` for those that do not.
pub(crate) fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// Hands out unique names in one Rust namespace. Names converted without
/// change are placed first by the caller; a later collision gets `_2`,
/// `_3`..., and a collision with a reserved name gets a `py_` prefix.
#[derive(Default)]
pub(crate) struct Names {
    reserved: HashSet<String>,
    used: HashSet<String>,
}

impl Names {
    pub(crate) fn reserving(names: &[&str]) -> Names {
        Names {
            reserved: names.iter().map(|s| s.to_string()).collect(),
            used: HashSet::new(),
        }
    }

    pub(crate) fn take(&mut self, wanted: String) -> String {
        let mut name = wanted;
        if self.reserved.contains(&name) {
            name = format!("py_{name}");
        }
        // CamelCase names take a bare number (`Bool2`), others `_2`.
        let camel = name.starts_with(char::is_uppercase) && name.contains(char::is_lowercase);
        let sep = if camel { "" } else { "_" };
        let mut candidate = name.clone();
        let mut n = 2;
        while self.used.contains(&candidate) || self.reserved.contains(&candidate) {
            candidate = format!("{name}{sep}{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

/// Assigns Rust names to Python names in one namespace: names that convert
/// to themselves first, so `foo_bar` keeps its name and `fooBar` yields.
pub(crate) fn assign(
    python: &[&str],
    convert: fn(&str) -> String,
    names: &mut Names,
) -> Vec<String> {
    let mut out = vec![String::new(); python.len()];
    let converted: Vec<String> = python.iter().map(|p| convert(p)).collect();
    for pass in [true, false] {
        for (i, p) in python.iter().enumerate() {
            if (converted[i] == *p) == pass {
                out[i] = names.take(converted[i].clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversion() {
        let check = |f: fn(&str) -> String, input: &str, expected: &str| {
            assert_eq!(f(input), expected, "{input}");
        };
        check(snake, "fooBar", "foo_bar");
        check(snake, "HTTPServer", "http_server");
        check(snake, "weird-name", "weird_name");
        check(snake, "load2D", "load2_d");
        check(snake, "9lives", "_9lives");
        check(camel, "struct", "Struct");
        check(camel, "ndarray", "Ndarray");
        check(camel, "JSONDecoder", "JSONDecoder");
        check(camel, "http_server", "HttpServer");
        check(upper, "maxValue", "MAX_VALUE");
        // Found by fuzzing: `²` is alphanumeric but not an identifier character.
        check(snake, "x²", "x_");
        check(camel, "x²", "X_");
        check(snake, "ⓐ", "__");
        check(snake, "٣x", "_٣x");
        check(upper, "straße", "STRASSE");
        check(camel, "self", "Self_");
        check(snake, "self", "self_");
        check(snake, "_", "__");
        let mut names = Names::default();
        assert_eq!(
            assign(&["self", "self_"], snake, &mut names),
            ["self__2", "self_"]
        );
        for name in ["x²", "Ⓐb", "٣", "🐍", "\u{200b}", "é"] {
            for f in [snake, camel, upper] {
                let _ = ident(&f(name));
            }
        }
    }

    #[test]
    fn keywords_become_raw_or_suffixed() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("mean").to_string(), "mean");
    }

    #[test]
    fn collisions_prefer_unchanged_names() {
        let mut names = Names::reserving(&["search"]);
        let got = assign(&["fooBar", "foo_bar", "search"], snake, &mut names);
        assert_eq!(got, ["foo_bar_2", "foo_bar", "py_search"]);
        let mut types = Names::default();
        let got = assign(&["bool", "bool_", "PI"], camel, &mut types);
        assert_eq!(got, ["Bool", "Bool2", "PI"]);
    }
}
