//! The image's platform, chosen from the flags and what the scan found.

use super::ImportOptions;
use crate::error::Result;
use crate::image::Platform;
use crate::platform::PlatformTally;

/// The platform: flags win; else what the rootfs's ELF files say; else the
/// host. A `--variant` given without `--arch` must suit the architecture
/// found.
pub(super) fn decide_platform(
    opts: &ImportOptions,
    tally: &PlatformTally,
    warnings: &mut Vec<String>,
) -> Result<Platform> {
    let platform = choose_platform(opts, tally, warnings);
    super::rules::check_variant(opts, &platform.architecture)?;
    Ok(platform)
}

fn choose_platform(
    opts: &ImportOptions,
    tally: &PlatformTally,
    warnings: &mut Vec<String>,
) -> Platform {
    let os = opts.os.clone().unwrap_or_else(|| "linux".into());
    let detected = tally.result();
    if let Some(arch) = &opts.arch {
        // Keep the detected variant when the flag only confirms the architecture.
        let variant = opts.variant.clone().or_else(|| {
            detected
                .filter(|d| &d.architecture == arch)
                .and_then(|d| d.variant)
        });
        return Platform {
            os,
            architecture: arch.clone(),
            variant,
        };
    }
    match detected {
        Some(d) => {
            if let Some(c) = &d.conflict {
                warnings.push(format!(
                    "executables of several architectures: {} ({} file(s), e.g. {}) and {} ({} file(s), e.g. {}); using {}",
                    d.architecture,
                    d.files,
                    c.winner_example,
                    c.other_architecture,
                    c.other_files,
                    c.other_example,
                    d.architecture
                ));
            }
            Platform {
                os,
                architecture: d.architecture,
                variant: opts.variant.clone().or(d.variant),
            }
        }
        None => {
            let host = crate::platform::host_architecture();
            warnings.push(match tally.wrapped_in() {
                Some(w) => format!(
                    "no ELF executables found under bin, sbin, usr/bin, usr/sbin or lib*, but {} is one: if the rootfs is wrapped in {}/, unwrap it with --strip-components {}; using the host architecture {host} (set --arch to choose)",
                    w.example, w.top, w.strip
                ),
                None => format!(
                    "no ELF executables found under bin, sbin, usr/bin, usr/sbin or lib*; using the host architecture {host} (set --arch to choose)"
                ),
            });
            Platform {
                os,
                architecture: host.to_string(),
                variant: opts.variant.clone(),
            }
        }
    }
}
