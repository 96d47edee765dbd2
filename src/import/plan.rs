//! What each layer will be: the target encoding, whether the input's bytes
//! are kept as the blob, and the one `--level` rule.

use crate::compress::{Compression, LayerEncoding};
use crate::error::{Error, Result};

/// The layer compression the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayerCompression {
    /// Keep gzip/zstd input as is; encode anything else as gzip.
    #[default]
    Auto,
    /// Always gzip.
    Gzip,
    /// Always zstd.
    Zstd,
    /// Uncompressed tar.
    None,
}

/// The `--level` rule, checked before any input is read: a level must fit
/// some encoding the request can produce (with auto, the widest, zstd's;
/// the layer's real target is checked again by [`LayerPlan::new`]).
pub(crate) fn check_level(compression: LayerCompression, level: Option<i32>) -> Result<()> {
    let Some(level) = level else {
        return Ok(());
    };
    let target = match compression {
        LayerCompression::Auto | LayerCompression::Zstd => LayerEncoding::Zstd,
        LayerCompression::Gzip => LayerEncoding::Gzip,
        LayerCompression::None => LayerEncoding::None,
    };
    let Some(range) = target.level_range() else {
        return Err(Error::Usage(
            "--level makes no sense with --compression none".into(),
        ));
    };
    if range.contains(&level) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--level {level} is out of range {}..={} for this compression",
        range.start(),
        range.end()
    )))
}

/// How one input becomes its layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayerPlan {
    /// The layer blob's encoding.
    pub(crate) target: LayerEncoding,
    /// The input's bytes are the blob (same format, no level asked for).
    pub(crate) passthrough: bool,
    /// The encoder's level, when encoding.
    pub(crate) level: Option<i32>,
    /// Why a requested level was not applied.
    pub(crate) warning: Option<String>,
}

impl LayerPlan {
    /// The plan for an input of `format` named `name`; `rewrite`: the layer
    /// is a rewrite of the input (`--normalize`), never its own bytes.
    pub(crate) fn new(
        compression: LayerCompression,
        level: Option<i32>,
        format: Compression,
        name: &str,
        rewrite: bool,
    ) -> Result<LayerPlan> {
        let target = match (compression, LayerEncoding::of_input(format)) {
            // auto keeps a compressed input's own encoding, never a plain tar
            (LayerCompression::Auto, Some(kept @ (LayerEncoding::Gzip | LayerEncoding::Zstd))) => {
                kept
            }
            (LayerCompression::Auto | LayerCompression::Gzip, _) => LayerEncoding::Gzip,
            (LayerCompression::Zstd, _) => LayerEncoding::Zstd,
            (LayerCompression::None, _) => LayerEncoding::None,
        };
        // With auto the input's own encoding wins over a level; with an
        // explicit compression a level asks for a re-encode.
        let passthrough = !rewrite
            && target.format() == format
            && (level.is_none() || compression == LayerCompression::Auto);
        let mut plan = LayerPlan {
            target,
            passthrough,
            level: if passthrough { None } else { level },
            warning: None,
        };
        let Some(level) = level else {
            return Ok(plan);
        };
        if passthrough {
            plan.warning = Some(format!(
                "--level {level} not applied: the {format} input is kept as the layer as is (use --compression {format} to re-encode it)"
            ));
        } else if let Some(range) = target.level_range().filter(|r| !r.contains(&level)) {
            let input = match format {
                Compression::None => "an uncompressed tar".to_string(),
                f => format!("{f} input"),
            };
            return Err(Error::Usage(format!(
                "--level {level} is out of range {}..={} for the {target} layer made from {name} ({input})",
                range.start(),
                range.end()
            )));
        }
        Ok(plan)
    }

    /// Encode after all: the input's framing is one a consumer reads
    /// differently (`why`), so its bytes cannot be the layer.
    pub(crate) fn reencode(mut self, why: &str) -> LayerPlan {
        if self.passthrough {
            self.passthrough = false;
            self.warning = Some(format!(
                "re-encoded as {}, not kept as is: {why}",
                self.target
            ));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Compression as C;
    use LayerCompression as L;
    use LayerEncoding as E;

    fn plan(c: L, level: Option<i32>, input: C) -> Result<LayerPlan> {
        LayerPlan::new(c, level, input, "in", false)
    }

    #[test]
    fn auto_keeps_gzip_and_zstd_and_encodes_the_rest_as_gzip() {
        for (input, target, kept) in [
            (C::Gzip, E::Gzip, true),
            (C::Zstd, E::Zstd, true),
            (C::Xz, E::Gzip, false),
            (C::Bzip2, E::Gzip, false),
            (C::None, E::Gzip, false),
        ] {
            let p = plan(L::Auto, None, input).unwrap();
            assert_eq!((p.target, p.passthrough), (target, kept), "{input}");
        }
        let p = plan(L::None, None, C::None).unwrap();
        assert_eq!((p.target, p.passthrough), (E::None, true));
        let p = plan(L::Zstd, None, C::Gzip).unwrap();
        assert_eq!((p.target, p.passthrough), (E::Zstd, false));
    }

    #[test]
    fn level_is_applied_ignored_with_a_warning_or_refused() {
        // Explicit compression and a level: re-encoded even if the format matches.
        let p = plan(L::Gzip, Some(1), C::Gzip).unwrap();
        assert_eq!((p.passthrough, p.level), (false, Some(1)));
        // Auto keeps the input and says the level was not applied.
        let p = plan(L::Auto, Some(9), C::Gzip).unwrap();
        assert_eq!((p.passthrough, p.level), (true, None));
        assert!(p.warning.unwrap().starts_with("--level 9 not applied"));
        // Auto turning xz into gzip: zstd's range passed the early check, gzip's refuses.
        check_level(L::Auto, Some(15)).unwrap();
        let e = plan(L::Auto, Some(15), C::Xz).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--level 15 is out of range 1..=9 for the gzip layer made from in (xz input)"
        );
    }

    #[test]
    fn a_rewrite_is_always_encoded_at_the_level_asked() {
        let p = LayerPlan::new(L::Auto, Some(9), C::Gzip, "in", true).unwrap();
        assert_eq!(
            (p.target, p.passthrough, p.level, p.warning),
            (E::Gzip, false, Some(9), None)
        );
        let p = LayerPlan::new(L::Auto, None, C::None, "in", true).unwrap();
        assert_eq!((p.target, p.passthrough), (E::Gzip, false));
    }

    #[test]
    fn unsafe_framing_turns_passthrough_into_an_encode() {
        let p = plan(L::Auto, None, C::Zstd)
            .unwrap()
            .reencode("a skippable frame first");
        assert_eq!((p.target, p.passthrough), (E::Zstd, false));
        assert_eq!(
            p.warning.as_deref(),
            Some("re-encoded as zstd, not kept as is: a skippable frame first")
        );
        // An encode stays an encode, with its own warning.
        let p = plan(L::Auto, None, C::Xz).unwrap().reencode("x");
        assert_eq!((p.passthrough, p.warning), (false, None));
    }

    #[test]
    fn early_level_check() {
        assert!(check_level(L::None, None).is_ok());
        let e = check_level(L::None, Some(3)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--level makes no sense with --compression none"
        );
        let e = check_level(L::Gzip, Some(10)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--level 10 is out of range 1..=9 for this compression"
        );
        let e = check_level(L::Auto, Some(0)).unwrap_err();
        assert!(e.to_string().contains("out of range 1..=22"), "{e}");
        assert!(check_level(L::Zstd, Some(22)).is_ok());
    }
}
