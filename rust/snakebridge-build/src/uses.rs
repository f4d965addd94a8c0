//! `generate = "used"`: which symbols the crate's Rust source names.
//!
//! A small Rust tokenizer (comments, strings, raw strings, chars and
//! lifetimes skipped; line numbers kept) finds every path `a::b::c` in
//! `src/`, `tests/`, `examples/` and `benches/`, also inside macro calls
//! (`assert_eq!(math::PI, ..)`), and expands `use` trees
//! (`use numpy::{mean, linalg::norm as n}`, globs, `as` renames). Which of
//! those paths name a package's symbols is decided against its IR
//! ([`resolve`]), with the Rust names the renderer gives
//! ([`snakebridge_codegen::module_symbols`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use snakebridge_codegen::{DISCOVERY_ITEMS, ModuleSymbols};

use crate::error::{Error, Result};

/// The directories of a crate that are scanned, relative to its manifest.
pub const SCANNED_DIRS: &[&str] = &["src", "tests", "examples", "benches"];

/// One path found in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Use {
    /// `["numpy", "linalg", "norm"]` (raw identifiers without `r#`).
    pub(crate) segments: Vec<String>,
    /// `use numpy::*`.
    pub(crate) glob: bool,
    /// `use numpy as np`: `np`.
    pub(crate) alias: Option<String>,
    /// Whether it comes from a `use` item.
    pub(crate) is_use: bool,
    /// The file.
    pub(crate) file: PathBuf,
    /// The line of its last segment (1-based).
    pub(crate) line: usize,
}

/// What a crate's scan found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scan {
    /// The directories scanned (watched, so that new files rerun build.rs).
    pub(crate) dirs: Vec<PathBuf>,
    /// Every `.rs` file read.
    pub(crate) files: Vec<PathBuf>,
    /// Every path in them.
    pub(crate) uses: Vec<Use>,
}

/// Scans `<crate_dir>/{src,tests,examples,benches}/**/*.rs`.
pub(crate) fn scan_crate(crate_dir: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    for dir in SCANNED_DIRS {
        let dir = crate_dir.join(dir);
        if dir.is_dir() {
            rust_files(&dir, &mut scan.files)?;
            scan.dirs.push(dir);
        }
    }
    scan.files.sort();
    for file in &scan.files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        scan.uses.extend(paths(&text).into_iter().map(|mut u| {
            u.file = file.clone();
            u
        }));
    }
    Ok(scan)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Tokens with their lines; literals and comments are dropped.
fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    // Skips a string body from just after its opening quote; `hashes` for raw strings.
    let skip_string = |mut j: usize, raw: Option<usize>, line: &mut usize| -> usize {
        while j < chars.len() {
            match chars[j] {
                '\n' => *line += 1,
                '\\' if raw.is_none() => {
                    if at(j + 1) == '\n' {
                        *line += 1;
                    }
                    j += 1;
                }
                '"' => match raw {
                    None => return j + 1,
                    Some(n) if (1..=n).all(|k| at(j + k) == '#') => return j + 1 + n,
                    Some(_) => {}
                },
                _ => {}
            }
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(i + 1, None, &mut line);
        } else if c == '\'' {
            // A char literal ('a', '\n', '\'', '\u{1F600}') or a lifetime / label ('a).
            if at(i + 1) == '\\' {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '.' && at(i + 1).is_ascii_digit()))
            {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let prefix = matches!(word.as_str(), "r" | "b" | "br" | "c" | "cr");
            if prefix && at(i) == '"' {
                let raw = word.contains('r').then_some(0);
                i = skip_string(i + 1, raw, &mut line);
            } else if prefix && word != "b" && word != "c" && at(i) == '#' {
                let mut n = 0;
                while at(i + n) == '#' {
                    n += 1;
                }
                if at(i + n) == '"' {
                    i = skip_string(i + n + 1, Some(n), &mut line);
                } else if word == "r" && n == 1 {
                    // A raw identifier: r#type.
                    let start = i + 1;
                    i = start;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    out.push((Tok::Ident(chars[start..i].iter().collect()), line));
                } else {
                    out.push((Tok::Ident(word), line));
                }
            } else if word == "b" && at(i) == '\'' {
                // A byte literal: b'a', b'\n'.
                i += 1;
                if at(i) == '\\' {
                    i += 1;
                }
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else {
                out.push((Tok::Ident(word), line));
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// Every path of two or more segments, and every `use` leaf, in `text`
/// (with an empty `file`).
pub(crate) fn paths(text: &str) -> Vec<Use> {
    let toks = tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Ident(word) if word == "use" => {
                i += 1;
                use_tree(&toks, &mut i, Vec::new(), &mut out);
            }
            Tok::Ident(_) if i == 0 || toks[i - 1].0 != Tok::Sep => {
                let mut segments = Vec::new();
                let mut line = toks[i].1;
                while let Some((Tok::Ident(word), l)) = toks.get(i) {
                    segments.push(word.clone());
                    line = *l;
                    i += 1;
                    if toks.get(i).map(|t| &t.0) == Some(&Tok::Sep)
                        && matches!(toks.get(i + 1), Some((Tok::Ident(_), _)))
                    {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if segments.len() > 1 {
                    out.push(Use {
                        segments,
                        glob: false,
                        alias: None,
                        is_use: false,
                        file: PathBuf::new(),
                        line,
                    });
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// One use tree at `toks[*i]` under `prefix`; leaves `*i` after it.
fn use_tree(toks: &[(Tok, usize)], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Use>) {
    let mut segments = prefix;
    let mut line = toks.get(*i).map_or(0, |t| t.1);
    loop {
        match toks.get(*i) {
            Some((Tok::Sep, _)) => *i += 1,
            Some((Tok::Ident(word), l)) if word != "as" => {
                segments.push(word.clone());
                line = *l;
                *i += 1;
            }
            Some((Tok::Punct('*'), l)) => {
                *i += 1;
                out.push(leaf(segments, true, None, *l));
                return;
            }
            Some((Tok::Punct('{'), _)) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        None => return,
                        Some((Tok::Punct('}'), _)) => {
                            *i += 1;
                            return;
                        }
                        Some((Tok::Punct(','), _)) => *i += 1,
                        Some(_) => {
                            let before = *i;
                            use_tree(toks, i, segments.clone(), out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            _ => break,
        }
    }
    let mut alias = None;
    if let Some((Tok::Ident(word), _)) = toks.get(*i)
        && word == "as"
    {
        if let Some((Tok::Ident(name), _)) = toks.get(*i + 1) {
            alias = Some(name.clone());
        }
        *i += 2;
    }
    if !segments.is_empty() {
        out.push(leaf(segments, false, alias, line));
    }
}

fn leaf(mut segments: Vec<String>, glob: bool, alias: Option<String>, line: usize) -> Use {
    if segments.last().is_some_and(|s| s == "self") {
        segments.pop();
    }
    Use {
        segments,
        glob,
        alias,
        is_use: true,
        file: PathBuf::new(),
        line,
    }
}

/// A used name that is not in the package's IR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingUse {
    /// `file:line`.
    pub location: String,
    /// The Rust path as written (`numpy::meen`).
    pub path: String,
}

/// The package-relative Python names that `uses` name in a package whose
/// top module is `module` (the Rust identifier `numpy`), with the modules'
/// Rust names. Paths that start at the package module (or at `crate::`,
/// `self::`, `super::` before it, or at an alias of it) must resolve, and
/// are returned as missing when they do not; paths where the module name
/// appears deeper (`bindings::numpy::mean`) are taken when they resolve and
/// ignored otherwise (another crate's `time::Instant` is no Python `time`).
pub(crate) fn resolve(
    uses: &[Use],
    module: &str,
    symbols: &[ModuleSymbols],
) -> (BTreeSet<String>, Vec<MissingUse>) {
    // `use numpy as np;`, `use numpy::linalg as la;`: np -> [numpy].
    let mut aliases: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for u in uses.iter().filter(|u| u.is_use) {
        if let (Some(alias), Some((at, _))) = (&u.alias, start(&u.segments, module)) {
            let rest = &u.segments[at + 1..];
            if symbols.iter().any(|m| m.rust_path == rest) && alias != "_" {
                aliases.insert(alias, u.segments[at..].to_vec());
            }
        }
    }
    let mut used = BTreeSet::new();
    let mut missing = Vec::new();
    for u in uses {
        let aliased;
        let segments = match aliases.get(u.segments[0].as_str()) {
            Some(target) if !u.is_use || u.segments.len() > 1 => {
                aliased = target.iter().chain(&u.segments[1..]).cloned().collect();
                &aliased
            }
            _ => &u.segments,
        };
        let Some((at, rooted)) = start(segments, module) else {
            continue;
        };
        let rest = &segments[at + 1..];
        // The deepest generated module the path goes through.
        let Some(m) = symbols
            .iter()
            .filter(|m| rest.starts_with(&m.rust_path))
            .max_by_key(|m| m.rust_path.len())
        else {
            continue;
        };
        let names: Vec<String> = match rest.get(m.rust_path.len()) {
            // `use numpy::linalg;`, `use numpy::*`: all of that module.
            None if u.is_use && (u.glob || !m.rust_path.is_empty()) => {
                m.items.values().cloned().collect()
            }
            None => continue,
            Some(item) if DISCOVERY_ITEMS.contains(&item.as_str()) => continue,
            Some(item) => match m.python_name(item) {
                Some(python) => vec![python.to_string()],
                None => {
                    if rooted {
                        missing.push(MissingUse {
                            location: format!("{}:{}", u.file.display(), u.line),
                            path: segments[at..=at + m.rust_path.len() + 1].join("::"),
                        });
                    }
                    continue;
                }
            },
        };
        for name in names {
            if let Some(others) = m.collisions.get(&name) {
                used.extend(others.iter().cloned());
            }
            used.insert(name);
        }
    }
    (used, missing)
}

/// Where `module` starts in `segments` (with a symbol or more after it in
/// paths, or anywhere in `use` leaves), and whether nothing but `crate`,
/// `self` and `super` comes before it.
fn start(segments: &[String], module: &str) -> Option<(usize, bool)> {
    let at = segments.iter().position(|s| s == module)?;
    let rooted = segments[..at]
        .iter()
        .all(|s| matches!(s.as_str(), "crate" | "self" | "super"));
    Some((at, rooted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, usize)> {
        paths(text)
            .into_iter()
            .map(|u| {
                let mut p = u.segments.join("::");
                if u.glob {
                    p.push_str("::*");
                }
                if let Some(a) = u.alias {
                    p.push_str(&format!(" as {a}"));
                }
                (p, u.line)
            })
            .collect()
    }

    fn names(list: &[(&str, usize)]) -> Vec<(String, usize)> {
        list.iter().map(|(p, l)| (p.to_string(), *l)).collect()
    }

    #[test]
    fn paths_in_code_and_macros_but_not_in_comments_or_literals() {
        let text = r####"
// numpy::in_a_comment
/* numpy::in /* nested */ numpy::block */
/// numpy::in_docs
fn main() {
    let a = numpy::mean(vec![1]).axis(0);
    let s = "numpy::in_a_string \" numpy::still";
    let r = r#"numpy::raw "quoted" numpy::raw2"#;
    let b = br##"numpy::bytes"##;
    let c = ('"', b'"', '\'', 'x');
    let l: &'static str = "x"; 'outer: loop { break 'outer; }
    assert_eq!(math::PI, 1.5e3);
    let v = Vec::<pandas::DataFrame>::new();
    let t = math::r#type;
}
"####;
        assert_eq!(
            found(text),
            names(&[
                ("numpy::mean", 6),
                ("math::PI", 12),
                ("pandas::DataFrame", 13),
                ("math::type", 14),
            ])
        );
    }

    #[test]
    fn use_trees_globs_and_renames() {
        let text = "use numpy::{self as np, mean, linalg::{norm,\n det as d}};\npub(crate) use pandas::*;\nuse std::io;\n";
        assert_eq!(
            found(text),
            names(&[
                ("numpy as np", 1),
                ("numpy::mean", 1),
                ("numpy::linalg::norm", 1),
                ("numpy::linalg::det as d", 2),
                ("pandas::*", 3),
                ("std::io", 4),
            ])
        );
    }
}
