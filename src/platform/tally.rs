//! The majority vote of the platforms found across a rootfs's ELF files.

use std::collections::BTreeMap;

use super::ElfPlatform;
use crate::tarscan::path::components;

/// Majority vote of the platforms found across a rootfs's ELF files.
#[derive(Clone, Debug, Default)]
#[allow(unreachable_pub)] // public for the fuzz targets (feature `fuzzing`)
pub struct PlatformTally {
    by_arch: BTreeMap<String, ArchVotes>,
    /// An executable was found one directory too deep (that directory, and
    /// the example): perhaps a rootfs wrapped in a directory.
    wrapped: Option<Wrapped>,
}

#[derive(Clone, Debug, Default)]
struct ArchVotes {
    files: u64,
    /// Files per known variant; files without a variant are not counted.
    variants: BTreeMap<String, u64>,
    /// The smallest path seen, so the example does not depend on the order
    /// files are added.
    example: String,
}

/// The platform detected for a rootfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Detected {
    /// The majority GOARCH.
    pub architecture: String,
    /// The majority variant among the files of that architecture that have
    /// one (files without a variant do not vote).
    pub variant: Option<String>,
    /// How many ELF files have the winning architecture.
    pub files: u64,
    /// How many ELF files were counted in total, all architectures.
    pub total_files: u64,
    /// Set when files disagree on the architecture.
    pub conflict: Option<Conflict>,
}

/// Files of more than one architecture were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// A file of the winning architecture.
    pub winner_example: String,
    /// The runner-up architecture.
    pub other_architecture: String,
    /// A file of the runner-up architecture.
    pub other_example: String,
    /// How many files have the runner-up architecture.
    pub other_files: u64,
}

impl PlatformTally {
    /// An empty tally.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Counts one ELF file.
    pub(crate) fn add(&mut self, path: &str, p: ElfPlatform) {
        let path = rootfs_path(path);
        let votes = self.by_arch.entry(p.architecture).or_default();
        votes.files += 1;
        if let Some(v) = p.variant {
            *votes.variants.entry(v).or_insert(0) += 1;
        }
        if votes.example.is_empty() || path < votes.example.as_str() {
            votes.example = path.to_owned();
        }
    }

    /// Records that the rootfs is wrapped in a top-level directory.
    pub(crate) fn set_wrapped(&mut self, wrapped: Wrapped) {
        self.wrapped = Some(wrapped);
    }

    /// The top-level directory holding a rootfs, when one was seen.
    pub(crate) fn wrapped_in(&self) -> Option<&Wrapped> {
        self.wrapped.as_ref()
    }

    /// Adds the votes of `other`, as if its files had been added to this
    /// tally: the result does not depend on the order of merging.
    pub(crate) fn merge(&mut self, other: PlatformTally) {
        if self.wrapped.is_none() {
            self.wrapped = other.wrapped;
        }
        for (arch, theirs) in other.by_arch {
            let ours = self.by_arch.entry(arch).or_default();
            ours.files += theirs.files;
            for (variant, n) in theirs.variants {
                *ours.variants.entry(variant).or_insert(0) += n;
            }
            if ours.example.is_empty() || theirs.example < ours.example {
                ours.example = theirs.example;
            }
        }
    }

    /// The majority platform, or `None` if no ELF file was counted.
    ///
    /// Ties go to the alphabetically first architecture (and variant), so the
    /// answer never depends on the host or on insertion order.
    pub(crate) fn result(&self) -> Option<Detected> {
        let mut ranked: Vec<(&String, &ArchVotes)> = self.by_arch.iter().collect();
        // BTreeMap order is by name, and the sort is stable, so equal counts
        // keep alphabetical order.
        ranked.sort_by_key(|(_, votes)| std::cmp::Reverse(votes.files));
        let (arch, votes) = *ranked.first()?;
        let variant = votes
            .variants
            .iter()
            .fold(None::<(&String, u64)>, |best, (v, &n)| match best {
                Some((_, bn)) if bn >= n => best,
                _ => Some((v, n)),
            })
            .map(|(v, _)| v.clone());
        let conflict = ranked.get(1).map(|(other, ov)| Conflict {
            winner_example: votes.example.clone(),
            other_architecture: (*other).clone(),
            other_example: ov.example.clone(),
            other_files: ov.files,
        });
        Some(Detected {
            architecture: arch.clone(),
            variant,
            files: votes.files,
            total_files: self.by_arch.values().map(|v| v.files).sum(),
            conflict,
        })
    }
}

/// `path` without its `./` and `/` prefixes, so examples read like rootfs
/// paths.
fn rootfs_path(path: &str) -> &str {
    let rest = components(path.as_bytes()).rest();
    // The rest of a `str` after ASCII prefixes is a `str`: the fallback never applies.
    std::str::from_utf8(rest).unwrap_or(path)
}

/// A rootfs wrapped in a top-level directory, as an Arch bootstrap's
/// `root.x86_64/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wrapped {
    /// The directory (`root.x86_64`).
    pub(crate) top: String,
    /// An executable found under it, as the tar names it
    /// (`./root.x86_64/bin/sh`).
    pub(crate) example: String,
    /// The `--strip-components` that unwraps it: the components of the
    /// tar's name up to the directory, a leading `.` included, as GNU tar
    /// and bsdtar count them (`./root.x86_64/` needs 2).
    pub(crate) strip: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::tests::p;

    #[test]
    fn tally_majority_and_conflict() {
        let mut t = PlatformTally::new();
        assert_eq!(t.result(), None);
        t.add("./usr/bin/qemu-x86_64-static", p("amd64", None));
        t.add("./bin/sh", p("arm", Some("v7")));
        t.add("./bin/ls", p("arm", Some("v7")));
        t.add("./usr/bin/old", p("arm", Some("v6")));
        t.add("./lib/ld-linux-armhf.so.3", p("arm", None));
        let d = t.result().unwrap();
        assert_eq!(
            d,
            Detected {
                architecture: "arm".into(),
                variant: Some("v7".into()),
                files: 4,
                total_files: 5,
                conflict: Some(Conflict {
                    winner_example: "bin/ls".into(),
                    other_architecture: "amd64".into(),
                    other_example: "usr/bin/qemu-x86_64-static".into(),
                    other_files: 1,
                }),
            }
        );
    }

    #[test]
    fn tally_ties_are_deterministic() {
        let mut a = PlatformTally::new();
        a.add("bin/a", p("s390x", None));
        a.add("bin/b", p("arm64", Some("v8")));
        let mut b = PlatformTally::new();
        b.add("bin/b", p("arm64", Some("v8")));
        b.add("bin/a", p("s390x", None));
        let (ra, rb) = (a.result().unwrap(), b.result().unwrap());
        assert_eq!(ra, rb);
        assert_eq!(ra.architecture, "arm64");
        assert_eq!(ra.conflict.unwrap().other_architecture, "s390x");

        let mut v = PlatformTally::new();
        v.add("bin/x", p("arm", Some("v7")));
        v.add("bin/y", p("arm", Some("v6")));
        assert_eq!(v.result().unwrap().variant.as_deref(), Some("v6"));
    }

    #[test]
    fn tally_single_arch_has_no_conflict() {
        let mut t = PlatformTally::new();
        t.add("/bin/busybox", p("riscv64", None));
        let d = t.result().unwrap();
        assert_eq!(
            (d.architecture.as_str(), d.variant, d.files),
            ("riscv64", None, 1)
        );
        assert_eq!(d.conflict, None);
    }

    #[test]
    fn merged_tallies_vote_as_one() {
        let files = [
            ("./bin/sh", p("arm", Some("v7"))),
            ("usr/bin/qemu", p("amd64", None)),
            ("bin/ls", p("arm", Some("v6"))),
            ("/bin/aa", p("arm", Some("v6"))),
            ("usr/bin/zz", p("amd64", None)),
        ];
        let mut all = PlatformTally::new();
        for (path, plat) in &files {
            all.add(path, plat.clone());
        }
        // Any split, merged either way round, gives the same verdict.
        for cut in 0..=files.len() {
            let (mut a, mut b) = (PlatformTally::new(), PlatformTally::new());
            for (i, (path, plat)) in files.iter().enumerate() {
                let t = if i < cut { &mut a } else { &mut b };
                t.add(path, plat.clone());
            }
            let mut ab = PlatformTally::new();
            ab.merge(a);
            ab.merge(b);
            assert_eq!(ab.result(), all.result(), "cut {cut}");
        }
        let d = all.result().unwrap();
        assert_eq!(
            (d.variant.as_deref(), d.files, d.total_files),
            (Some("v6"), 3, 5)
        );
        assert_eq!(d.conflict.unwrap().winner_example, "bin/aa");
    }
}
