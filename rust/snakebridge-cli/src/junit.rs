//! JUnit XML of one test case, for test runners (`snakebridge verify
//! --junit`; Bazel keeps it as the test's test.xml, where a skip shows as
//! skipped although the exit status is 0).

use std::path::Path;

use anyhow::Context;

/// How the one test case ended.
pub(crate) enum Case {
    Passed,
    /// With the reason.
    Skipped(String),
    /// With the message.
    Failed(String),
}

/// Writes `<testsuites>` with one suite `name` of one test case to `path`.
pub(crate) fn write(path: &Path, name: &str, case: &Case) -> anyhow::Result<()> {
    std::fs::write(path, xml(name, case)).with_context(|| format!("writing {}", path.display()))
}

fn xml(name: &str, case: &Case) -> String {
    let (body, failures, skipped) = match case {
        Case::Passed => (String::new(), 0, 0),
        Case::Skipped(reason) => (format!("<skipped message=\"{}\"/>", escape(reason)), 0, 1),
        Case::Failed(message) => (format!("<failure message=\"{}\"/>", escape(message)), 1, 0),
    };
    let counts = format!("tests=\"1\" failures=\"{failures}\" skipped=\"{skipped}\"");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites {counts}>\n  \
         <testsuite name=\"{name}\" {counts}>\n    \
         <testcase name=\"verify\" classname=\"{name}\">{body}</testcase>\n  \
         </testsuite>\n</testsuites>\n",
        name = escape(name),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_with_its_escaped_reason() {
        assert_eq!(
            xml("v", &Case::Skipped("requires <cuda> & \"more\"".into())),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites tests=\"1\" failures=\"0\" skipped=\"1\">\n  \
             <testsuite name=\"v\" tests=\"1\" failures=\"0\" skipped=\"1\">\n    \
             <testcase name=\"verify\" classname=\"v\"><skipped message=\"requires &lt;cuda&gt; &amp; &quot;more&quot;\"/></testcase>\n  \
             </testsuite>\n</testsuites>\n"
        );
    }

    #[test]
    fn counts() {
        assert!(xml("v", &Case::Passed).contains("tests=\"1\" failures=\"0\" skipped=\"0\""));
        let failed = xml("v", &Case::Failed("no".into()));
        assert!(failed.contains("failures=\"1\" skipped=\"0\""), "{failed}");
        assert!(failed.contains("<failure message=\"no\"/>"), "{failed}");
    }
}
