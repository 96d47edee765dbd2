//! What the consumers refuse in the options that shape the config, the
//! annotations and the platform, refused before anything is written: the
//! same rules `verify` applies to any layout ([`crate::spec`]'s breaches).

use oci_spec::image::Config;

use super::ImportOptions;
use crate::change::ChangeError;
use crate::error::{Error, Result};
use crate::image;
use crate::spec::Breach;
use crate::spec::annotations::{Site, breach};
use crate::spec::config::{time_breach, user_breach, volume_breach};
use crate::spec::platform::{arch_breach, os_breach, variant_breach};

fn usage(given: &str, b: &Breach) -> Error {
    Error::Usage(b.usage(given))
}

/// `--arch`, `--os` and `--variant` as image-index.md names platforms:
/// Go's names, refused otherwise with the Go name when there is one
/// (`x86_64` is `amd64`), since consumers select images by these names.
pub(super) fn check_platform_flags(opts: &ImportOptions) -> Result<()> {
    if let Some(a) = &opts.arch
        && let Some(b) = arch_breach(a)
    {
        return Err(usage(&format!("--arch {a}"), &b));
    }
    if let Some(o) = &opts.os
        && let Some(b) = os_breach(o)
    {
        return Err(usage(&format!("--os {o}"), &b));
    }
    if let (Some(a), Some(v)) = (&opts.arch, &opts.variant)
        && let Some(b) = variant_breach(a, v)
    {
        return Err(usage(&format!("--variant {v}"), &b));
    }
    Ok(())
}

/// A `--variant` given without `--arch` must suit the architecture found
/// in the input.
pub(super) fn check_variant(opts: &ImportOptions, arch: &str) -> Result<()> {
    match &opts.variant {
        Some(v) if opts.arch.is_none() => match variant_breach(arch, v) {
            Some(b) => Err(usage(
                &format!("--variant {v} (for {arch}, found in the input)"),
                &b,
            )),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `SOURCE_DATE_EPOCH`, when it sets the created time: a time Go's parser
/// (skopeo, umoci, podman) reads back.
pub(super) fn check_source_date_epoch(opts: &ImportOptions) -> Result<()> {
    let (None, Some(s)) = (&opts.created, &opts.source_date_epoch) else {
        return Ok(());
    };
    let t = image::format_unix(super::source_date_epoch(s)?)
        .ok_or_else(|| Error::Usage(format!("SOURCE_DATE_EPOCH={s} is out of range")))?;
    match time_breach(&t) {
        Some(b) => Err(usage(&format!("SOURCE_DATE_EPOCH={s}"), &b)),
        None => Ok(()),
    }
}

/// `--label KEY=VALUE` under annotations.md's rules (config.md: labels
/// follow them).
pub(super) fn check_label(key: &str, value: &str) -> Result<()> {
    match breach(key, value, Site::Label) {
        Some(b) => Err(usage(&format!("--label {key}={value}"), &b)),
        None => Ok(()),
    }
}

/// The config after the `--change` `instruction`, which earlier ones left
/// valid: its `User`, `Volumes` and `Labels` as config.md has them. A
/// relative VOLUME is refused naming the absolute path, not rewritten as
/// WORKDIR is: a volume has no documented relative meaning (Docker and
/// podman happen to mount it under `/`).
pub(super) fn check_change(config: &Config, instruction: &str) -> Result<()> {
    let user = config.user().as_deref().and_then(user_breach);
    let volume = || {
        config
            .volumes()
            .iter()
            .flatten()
            .find_map(|p| volume_breach(p))
    };
    let label = || {
        let labels = config.labels().iter().flatten();
        let mut found: Vec<_> = labels
            .filter_map(|(k, v)| breach(k, v, Site::Label).map(|b| (k.clone(), b)))
            .collect();
        // The first by key: the same message on every run.
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.into_iter().next().map(|(_, b)| b)
    };
    match user.or_else(volume).or_else(label) {
        Some(b) => Err(Error::Change(ChangeError::Invalid {
            instruction: instruction.trim().to_string(),
            reason: format!("{}; {}", b.why, b.fix),
        })),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Output;

    fn opts() -> ImportOptions {
        ImportOptions::new(Output::Layout("x".into()))
    }

    fn config(changes: &[&str]) -> Result<()> {
        let mut c = Config::default();
        for i in changes {
            crate::change::apply_change(&mut c, i)?;
            check_change(&c, i)?;
        }
        Ok(())
    }

    #[test]
    fn platform_flags() {
        let mut o = opts();
        o.arch = Some("x86_64".into());
        assert!(
            matches!(check_platform_flags(&o), Err(Error::Usage(m)) if m.starts_with("--arch x86_64: ") && m.ends_with("use amd64, its GOARCH name"))
        );
        o.arch = Some("arm".into());
        o.variant = Some("v7".into());
        assert!(check_platform_flags(&o).is_ok());
        o.arch = None;
        assert!(check_variant(&o, "arm").is_ok());
        assert!(
            matches!(check_variant(&o, "arm64"), Err(Error::Usage(m)) if m.starts_with("--variant v7 (for arm64, found in the input): "))
        );
        o.os = Some("Linux".into());
        assert!(
            matches!(check_platform_flags(&o), Err(Error::Usage(m)) if m.ends_with("use linux, its GOOS name"))
        );
    }

    #[test]
    fn source_date_epoch_in_range() {
        let mut o = opts();
        for (s, ok) in [
            ("253402300799", true),
            ("253402300800", false),
            ("-62167219200", true),
            ("-62167219201", false),
        ] {
            o.source_date_epoch = Some(s.into());
            assert_eq!(check_source_date_epoch(&o).is_ok(), ok, "{s}");
        }
        o.created = Some("1970-01-01T00:00:00Z".into());
        assert!(check_source_date_epoch(&o).is_ok(), "--created wins");
    }

    #[test]
    fn changes_and_labels() {
        assert!(
            config(&[
                "USER a:b",
                "VOLUME /a",
                "LABEL org.opencontainers.image.title=t"
            ])
            .is_ok()
        );
        for bad in [
            "USER a:b:c",
            "VOLUME /a rel",
            "LABEL org.opencontainers.image.x=1",
        ] {
            assert!(
                matches!(config(&[bad]), Err(Error::Change(ChangeError::Invalid { instruction, .. })) if instruction == bad),
                "{bad}"
            );
        }
        assert!(check_label("com.example.x", "").is_ok());
        assert!(check_label("org.opencontainers.image.created", "x").is_err());
    }
}
