//! Structural checks on the guide (`guide/src`).
//!
//! * every page listed in `SUMMARY.md` exists;
//! * every page under `guide/src` is listed in `SUMMARY.md` and is included
//!   as a doctest module in `tests/src/lib.rs`, so no page escapes compilation;
//! * every relative link between guide files points at an existing file.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Prefix of the `include_str!` paths in `tests/src/lib.rs` (relative to `tests/src`).
const INCLUDE_PREFIX: &str = "include_str!(\"../../guide/src/";

fn guide_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../guide/src")
}

fn read(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => panic!("cannot read {}: {err}", path.display()),
    }
}

/// `path` relative to `guide/src`, with `/` separators.
fn page_name(path: &Path) -> String {
    let relative = match path.strip_prefix(guide_src()) {
        Ok(relative) => relative,
        Err(_) => panic!("{} is not under guide/src", path.display()),
    };
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `.md` file under `dir`, recursively.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(err) => panic!("cannot list {}: {err}", dir.display()),
        };
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            out.push(path);
        }
    }
}

/// Every guide page (relative to `guide/src`), excluding `SUMMARY.md`.
fn guide_pages() -> BTreeSet<String> {
    let mut files = Vec::new();
    markdown_files(&guide_src(), &mut files);
    files
        .iter()
        .map(|path| page_name(path))
        .filter(|name| name != "SUMMARY.md")
        .collect()
}

/// Link targets `[text](target)` in `markdown`, outside fenced code blocks
/// and inline code spans.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Drop inline code spans: keep only the even-numbered backtick segments.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].trim();
            // `[text](target "title")`: the title is not part of the target.
            let target = target.split_whitespace().next().unwrap_or("");
            targets.push(target.to_owned());
            rest = &rest[end + 1..];
        }
    }
    targets
}

/// The file part of a relative link, or `None` for external links,
/// in-page anchors and empty (draft) targets.
fn relative_file(target: &str) -> Option<&str> {
    if target.is_empty() || target.starts_with('#') || target.starts_with('/') {
        return None;
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let file = target.split('#').next().unwrap_or(target);
    (!file.is_empty()).then_some(file)
}

/// Pages listed in `SUMMARY.md`, relative to `guide/src`.
fn summary_entries() -> BTreeSet<String> {
    let summary = read(&guide_src().join("SUMMARY.md"));
    link_targets(&summary)
        .iter()
        .filter_map(|target| relative_file(target))
        .map(|file| file.trim_start_matches("./").to_owned())
        .collect()
}

/// Guide pages included as doctest modules by `tests/src/lib.rs`.
fn doctest_modules() -> BTreeSet<String> {
    let lib = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"));
    lib.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("#[doc"))
        .filter_map(|line| {
            let start = line.find(INCLUDE_PREFIX)? + INCLUDE_PREFIX.len();
            let rest = &line[start..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

#[test]
fn summary_lists_at_least_one_page() {
    assert!(
        !summary_entries().is_empty(),
        "guide/src/SUMMARY.md lists no pages"
    );
}

#[test]
fn every_summary_entry_has_a_page() {
    let missing: Vec<String> = summary_entries()
        .into_iter()
        .filter(|entry| !guide_src().join(entry).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md lists pages that do not exist in guide/src: {missing:?}"
    );
}

#[test]
fn every_guide_page_is_listed_in_summary() {
    let listed = summary_entries();
    let unlisted: Vec<String> = guide_pages()
        .into_iter()
        .filter(|page| !listed.contains(page))
        .collect();
    assert!(
        unlisted.is_empty(),
        "guide pages missing from guide/src/SUMMARY.md: {unlisted:?}"
    );
}

#[test]
fn every_guide_page_is_compiled_as_doctests() {
    let included = doctest_modules();
    let uncompiled: Vec<String> = guide_pages()
        .into_iter()
        .filter(|page| !included.contains(page))
        .collect();
    assert!(
        uncompiled.is_empty(),
        "guide pages without a `#[doc = include_str!(\"../../guide/src/<page>\")]` \
         module in tests/src/lib.rs: {uncompiled:?}"
    );
}

#[test]
fn every_relative_link_in_the_guide_resolves() {
    let mut files = Vec::new();
    markdown_files(&guide_src(), &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let dir = file.parent().unwrap_or(file);
        for target in link_targets(&read(file)) {
            if let Some(linked) = relative_file(&target) {
                if !dir.join(linked).exists() {
                    broken.push(format!("{}: ({target})", page_name(file)));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "relative links in the guide that point at missing files: {broken:?}"
    );
}
