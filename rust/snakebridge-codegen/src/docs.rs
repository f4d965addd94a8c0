//! Python docstrings (numpydoc, Google, reST) to rustdoc Markdown.
//!
//! Safe first: every code or doctest block becomes a ```` ```text ```` fence
//! (so nothing runs as a doctest), and no line outside a fence keeps the
//! four-space indent that rustdoc would read as a Rust code block.

/// Google-style section titles (`Args:`).
const GOOGLE_SECTIONS: &[&str] = &[
    "Args",
    "Arguments",
    "Parameters",
    "Returns",
    "Return",
    "Yields",
    "Raises",
    "Examples",
    "Example",
    "Note",
    "Notes",
    "Attributes",
    "Warning",
    "Warnings",
    "See Also",
    "References",
    "Keyword Args",
    "Keyword Arguments",
    "Other Parameters",
];

/// Markdown for a docstring.
pub(crate) fn markdown(doc: &str) -> String {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if is_underline(lines.get(i + 1).copied(), trimmed) {
            push_heading(&mut out, trimmed);
            i += 2;
        } else if indent == 0 && is_google_section(trimmed) {
            push_heading(&mut out, trimmed.trim_end_matches(':'));
            i += 1;
        } else if trimmed.starts_with(">>>") {
            i = fence(&lines, i, &mut out, |l| !l.trim().is_empty());
        } else if trimmed.starts_with("```") {
            let end = (i + 1..lines.len()).find(|&j| lines[j].trim().starts_with("```"));
            let end = end.unwrap_or(lines.len());
            let body: Vec<String> = lines[i + 1..end].iter().map(|l| l.to_string()).collect();
            push_fence(&mut out, body);
            i = end + 1;
        } else if trimmed.ends_with("::") || trimmed.starts_with(".. code") {
            let intro = trimmed.trim_end_matches("::").trim_end();
            if !intro.is_empty() && !intro.starts_with("..") {
                out.push(format!("{}:", inline(intro)));
            }
            i += 1;
            while i < lines.len() && lines[i].trim().is_empty() {
                i += 1;
            }
            i = fence(&lines, i, &mut out, |l| {
                l.trim().is_empty() || l.starts_with(' ')
            });
        } else if let Some(rest) = trimmed.strip_prefix(":param ") {
            let (name, text) = rest.split_once(':').unwrap_or((rest, ""));
            let name = name.split_whitespace().last().unwrap_or(name);
            out.push(format!("* `{name}`: {}", inline(text.trim())));
            i += 1;
        } else if let Some(rest) = trimmed
            .strip_prefix(":returns:")
            .or_else(|| trimmed.strip_prefix(":return:"))
        {
            out.push(format!("Returns: {}", inline(rest.trim())));
            i += 1;
        } else if trimmed.starts_with(":rtype:") || trimmed.starts_with(":type ") {
            i += 1;
        } else if let Some(rest) = trimmed.strip_prefix(".. ") {
            let (directive, text) = rest.split_once("::").unwrap_or((rest, ""));
            out.push(format!(
                "**{}:** {}",
                capitalize(directive.trim()),
                inline(text.trim())
            ));
            i += 1;
        } else if indent == 0 && is_param_line(trimmed) {
            let (name, ty) = trimmed.split_once(" : ").unwrap_or((trimmed, ""));
            out.push(format!("* `{}`: {}", name.trim(), inline(ty.trim())));
            i += 1;
        } else {
            let text = inline(trimmed);
            out.push(if indent > 0 && !text.is_empty() {
                format!("  {text}")
            } else {
                text
            });
            i += 1;
        }
    }
    collapse_blank(out).join("\n")
}

fn is_underline(next: Option<&str>, title: &str) -> bool {
    next.is_some_and(|n| {
        let n = n.trim();
        !title.is_empty() && n.len() >= 3 && n.chars().all(|c| c == '-' || c == '=')
    })
}

fn is_google_section(line: &str) -> bool {
    line.strip_suffix(':')
        .is_some_and(|t| GOOGLE_SECTIONS.contains(&t))
}

/// numpydoc parameter lines: `name : type` (or a bare name inside a section).
fn is_param_line(line: &str) -> bool {
    line.split_once(" : ").is_some_and(|(name, _)| {
        !name.is_empty()
            && name.split(", ").all(|n| {
                n.trim_start_matches('*')
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_')
            })
    })
}

fn push_heading(out: &mut Vec<String>, title: &str) {
    if out.last().is_some_and(|l| !l.is_empty()) {
        out.push(String::new());
    }
    out.push(format!("# {title}"));
    out.push(String::new());
}

/// Collects lines from `start` while `keep` holds into a text fence.
fn fence(
    lines: &[&str],
    start: usize,
    out: &mut Vec<String>,
    keep: impl Fn(&str) -> bool,
) -> usize {
    let mut end = start;
    while end < lines.len() && keep(lines[end]) {
        end += 1;
    }
    while end > start && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let body = &lines[start..end];
    let cut = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body = body
        .iter()
        .map(|l| l.get(cut..).unwrap_or("").to_string())
        .collect();
    push_fence(out, body);
    end.max(start + 1)
}

fn push_fence(out: &mut Vec<String>, body: Vec<String>) {
    out.push("```text".to_string());
    out.extend(body.into_iter().map(|l| l.replace("```", "'''")));
    out.push("```".to_string());
}

/// reST inline markup: roles (`:func:`x``) and double backticks to code.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest
        .find(":`")
        .and_then(|p| rest[..p].rfind(':').map(|q| (q, p)))
    {
        let (role_start, tick) = start;
        let role = &rest[role_start + 1..tick];
        if role.is_empty()
            || !role
                .chars()
                .all(|c| c.is_alphanumeric() || c == ':' || c == '_')
        {
            out.push_str(&rest[..tick + 2]);
            rest = &rest[tick + 2..];
            continue;
        }
        out.push_str(&rest[..role_start]);
        let after = &rest[tick + 2..];
        match after.find('`') {
            Some(end) => {
                out.push('`');
                out.push_str(after[..end].trim_start_matches('~'));
                out.push('`');
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[role_start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("``", "`")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn collapse_blank(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// The first non-empty line of a docstring (for discovery tables).
pub(crate) fn summary(doc: Option<&str>) -> String {
    doc.and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(inline)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &str, expected: &str) {
        assert_eq!(markdown(doc), expected, "\n--- from ---\n{doc}");
    }

    #[test]
    fn numpydoc_sections_and_parameters() {
        check(
            "Mean.\n\nParameters\n----------\na : array_like\n    The input.\n\nExamples\n--------\n>>> mean([1, 2])\n1.5",
            "Mean.\n\n# Parameters\n\n* `a`: array_like\n  The input.\n\n# Examples\n\n```text\n>>> mean([1, 2])\n1.5\n```",
        );
    }

    #[test]
    fn google_sections() {
        check(
            "Do it.\n\nArgs:\n    x: the value.\n",
            "Do it.\n\n# Args\n\n  x: the value.",
        );
    }

    #[test]
    fn rest_fields_roles_and_literal_blocks() {
        check(
            "See :func:`~os.path.join` and ``x``.\n\n:param int x: the value\n:returns: nothing\n\nExample::\n\n    f(1)\n    f(2)\n",
            "See `os.path.join` and `x`.\n\n* `x`: the value\nReturns: nothing\n\nExample:\n```text\nf(1)\nf(2)\n```",
        );
    }

    #[test]
    fn indented_text_never_becomes_a_rust_code_block() {
        assert!(!markdown("x\n\n        deeply indented").contains("    deeply"));
    }
}
