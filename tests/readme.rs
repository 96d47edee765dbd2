//! README.md's quick start is what the program does: its first command runs
//! on the shipped fixture and prints exactly the output the README shows,
//! and the commands after it succeed. README.md's test command is the one
//! `.ci/run` runs.

use std::path::Path;

use crate::common::{Run, ociimport_in, run_cmd, testdata};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The fenced blocks of `section` (a `## ` heading), as (info string, body).
fn blocks(text: &str, section: &str) -> Vec<(String, String)> {
    let start = text
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("README.md has no '## {section}' section"));
    let rest = &text[start + section.len() + 5..];
    let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut out = Vec::new();
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut block = String::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            block.push_str(l);
            block.push('\n');
        }
        out.push((info.to_string(), block));
    }
    out
}

/// Run one README command line (`ociimport ARGS...`, no quoting) in `cwd`.
fn run_line(cwd: &Path, line: &str) -> Run {
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("ociimport"), "{line}");
    run_cmd(&mut ociimport_in(cwd, words))
}

fn host_is_amd64() -> bool {
    std::env::consts::ARCH == "x86_64"
}

#[test]
fn quick_start_output_is_what_the_program_prints() {
    let text = readme();
    let b = blocks(&text, "Quick start");
    assert!(b.len() >= 3, "quick start: expected sh, text, sh blocks");
    let (first, shown, then) = (&b[0], &b[1], &b[2]);
    assert_eq!((first.0.as_str(), shown.0.as_str()), ("sh", "text"));
    let command = first.1.trim();
    assert!(
        command.contains("testdata/"),
        "the first command uses a shipped fixture"
    );

    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("testdata")).unwrap();
    std::fs::copy(
        testdata("rootfs.tar"),
        tmp.path().join("testdata/rootfs.tar"),
    )
    .unwrap();
    let printed = run_line(tmp.path(), command).succeeds().err();
    if host_is_amd64() {
        assert_eq!(
            printed, shown.1,
            "README.md's quick-start output differs from what `{command}` prints; paste the program's output into README.md"
        );
    } else {
        // The fixture has no ELF files, so the platform (and the manifest
        // digest) follow the host; the DiffID does not.
        let diff = shown.1.lines().find(|l| l.contains("diff_id")).unwrap();
        assert!(printed.contains(diff), "{printed}");
    }
    // The commands after it work on what it wrote.
    let mut ran = 0;
    for line in then.1.lines().filter(|l| l.starts_with("ociimport ")) {
        run_line(tmp.path(), line).succeeds();
        ran += 1;
    }
    assert!(ran >= 2, "verify and inspect follow the first command");
}

#[test]
fn readme_test_command_is_what_ci_runs() {
    let text = readme();
    let b = blocks(&text, "Running the tests");
    let command = b[0].1.trim().to_string();
    assert!(command.starts_with("cargo test"), "{command}");
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    let last = ci
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(
        last, command,
        ".ci/run must end by running README.md's test command"
    );
}

/// The release binary carries no debug info (issue 23: 55 MB with line
/// tables, about 11 MB without), and README's install section says its size.
#[test]
fn release_binary_has_no_debug_info_and_readme_says_its_size() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let start = toml.find("\n[profile.release]\n").unwrap();
    let rest = &toml[start + 1..];
    let profile = &rest[..rest[1..].find("\n[").map_or(rest.len(), |i| i + 1)];
    let settings: Vec<&str> = profile
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        settings,
        [
            "lto = \"thin\"",
            "codegen-units = 4",
            "strip = \"debuginfo\""
        ],
        "{profile}"
    );
    let text = readme();
    let install =
        &text[text.find("\n## Install\n").unwrap()..text.find("\n## Quick start\n").unwrap()];
    assert!(
        install.contains("The installed binary is about 11 MB"),
        "{install}"
    );
}
