//! The shape of the crate, kept: the top-level modules of `src/` form no
//! cycle, no function outside tests is longer than 80 lines, and no file is
//! longer than 700 lines before its `#[cfg(test)]` module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines of `text` before its `#[cfg(test)] mod tests`: all of them,
/// comments and blank lines included.
fn before_tests(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with("#[cfg(test)]") && lines.peek().is_some_and(|n| n.starts_with("mod ")) {
            break;
        }
        out.push(l);
    }
    out
}

/// A file's lines before its `#[cfg(test)] mod tests`, without comments.
fn code_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    before_tests(&text)
        .into_iter()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(str::to_string)
        .collect()
}

/// The top-level module a file belongs to (`import` for src/import/pipeline.rs).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::NAME` references in `line`, including `crate::{a, b::c}`.
fn crate_refs(line: &str, out: &mut BTreeSet<String>) {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or("");
            out.extend(group.split(',').map(ident).filter(|s| !s.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        if m == "lib" || m == "main" {
            continue;
        }
        let mut refs = BTreeSet::new();
        for l in code_lines(f) {
            crate_refs(&l, &mut refs);
        }
        refs.remove(&m);
        g.entry(m).or_default().extend(refs);
    }
    let names: BTreeSet<String> = g.keys().cloned().collect();
    for deps in g.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    g
}

/// A cycle through `start`, if one exists (depth-first search).
fn cycle_from(
    g: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    let node = path.last().unwrap().clone();
    for next in &g[&node] {
        if next == start {
            let mut c = path.clone();
            c.push(start.to_string());
            return Some(c);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(c) = cycle_from(g, start, path) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn the_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "modules found: {:?}", g.keys());
    assert!(g["import"].contains("layout"), "references are read");
    for m in g.keys() {
        let mut path = vec![m.clone()];
        if let Some(c) = cycle_from(&g, m, &mut path) {
            panic!("module cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    let mut path = vec!["a".to_string()];
    assert_eq!(
        cycle_from(&g, "a", &mut path),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    let mut refs = BTreeSet::new();
    crate_refs("use crate::{digest::Blob, error};", &mut refs);
    crate_refs("let x = crate::fsutil::f();", &mut refs);
    assert_eq!(
        refs,
        BTreeSet::from(["digest".into(), "error".into(), "fsutil".into()])
    );
}

/// Functions outside tests: `fn` lines, to the closing brace at their indent.
fn long_functions(max: usize) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for f in &files {
        let lines = code_lines(f);
        let mut i = 0;
        while i < lines.len() {
            let l = &lines[i];
            let indent = l.len() - l.trim_start().len();
            let t = l.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "const fn ",
                "pub const fn ",
            ]
            .iter()
            .any(|p| t.starts_with(p));
            if is_fn && !t.ends_with(';') {
                let close = format!("{}}}", " ".repeat(indent));
                let end = (i..lines.len())
                    .find(|&j| lines[j].trim_end() == close)
                    .unwrap_or(i);
                let n = end - i + 1;
                if n > max {
                    long.push(format!("{}:{} {n} lines", f.display(), i + 1));
                }
                i = end;
            }
            i += 1;
        }
    }
    long
}

#[test]
fn no_function_outside_tests_is_longer_than_80_lines() {
    assert_eq!(long_functions(80), Vec::<String>::new());
    // The measure works: something is longer than 40.
    assert!(!long_functions(40).is_empty());
}

/// Every `.rs` file of `src/` as (path from the repository root, text).
fn src_texts() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let root = src().parent().unwrap().to_path_buf();
    files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap().display().to_string();
            (rel, fs::read_to_string(f).unwrap())
        })
        .collect()
}

/// Of `files` (name, text), those with more than `max` lines before their
/// tests, with their counts. Every line counts: code, comments, docs and
/// blank lines, as a reader scrolls through them.
fn too_long(files: &[(String, String)], max: usize) -> Vec<String> {
    files
        .iter()
        .map(|(name, text)| (name, before_tests(text).len()))
        .filter(|&(_, n)| n > max)
        .map(|(name, n)| format!("{name}: {n} lines"))
        .collect()
}

#[test]
fn no_file_in_src_is_longer_than_700_lines_before_its_tests() {
    let texts = src_texts();
    assert!(texts.len() > 20, "files found: {}", texts.len());
    let long = too_long(&texts, 700);
    assert!(
        long.is_empty(),
        "files over 700 lines before their #[cfg(test)] module (split them along their seams):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_file_length_check_sees_a_long_file() {
    let long = format!(
        "{}#[cfg(test)]\nmod tests {{\n{}}}\n",
        "// a comment counts\n".repeat(700) + "\n",
        "    fn t() {}\n".repeat(300)
    );
    let exact = format!("{}#[cfg(test)]\nmod tests;\n", "fn a() {}\n".repeat(700));
    let untested = "fn a() {}\n".repeat(702);
    let files = [
        ("src/long.rs".to_string(), long),
        ("src/exact.rs".to_string(), exact),
        ("src/untested.rs".to_string(), untested),
    ];
    assert_eq!(
        too_long(&files, 700),
        ["src/long.rs: 701 lines", "src/untested.rs: 702 lines"]
    );
    // What counts: everything before the test module, and only that.
    let text =
        "//! Docs.\n\nfn a() {}\n// A comment.\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\n";
    assert_eq!(
        before_tests(text),
        ["//! Docs.", "", "fn a() {}", "// A comment."]
    );
    // `#[cfg(test)]` on something else is not the test module.
    assert_eq!(
        before_tests("#[cfg(test)]\nfn helper() {}\nfn b() {}\n").len(),
        3
    );
}
