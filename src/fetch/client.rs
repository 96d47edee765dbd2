//! One request at a time: the agent (TLS roots, proxy), redirects followed
//! here (never from https to http), and every failure sorted into worth
//! another try or final.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::http::{Response, StatusCode};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, Body, Proxy};

use super::{HttpOptions, MAX_REDIRECTS};
use crate::error::{Error, Result};
use crate::url::{host_of, public_proxy, public_url, request_problem, resolve, scheme_of, scrub};

/// Why an attempt failed: worth another try, or final.
pub(super) enum Failure {
    /// A dropped connection, a timeout, a 5xx: try again after a pause.
    Transient(String, Wait),
    /// Refused for good.
    Final(Error),
}

/// How long to pause before the next attempt.
#[derive(Clone, Copy, Debug)]
pub(super) enum Wait {
    /// The backoff: 1 s, doubling, capped.
    Backoff,
    /// A refused connection: nothing listens, so nothing is overloaded;
    /// a short pause lets a restarting server come back without making a
    /// wrong port take half a minute.
    Short,
    /// What the server's `Retry-After` asked for.
    Server(Duration),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Final(e)
    }
}

/// The agent, and the system's root certificates loaded on first https use.
pub(super) struct Client {
    agent: Agent,
    timeout: Duration,
    tls: OnceLock<std::result::Result<TlsConfig, String>>,
}

impl Client {
    pub(super) fn new(opts: &HttpOptions) -> Self {
        let config = Agent::config_builder()
            // Statuses, redirects and proxies are decided here, per request.
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .accept_encoding("identity")
            .user_agent(concat!("ociimport/", env!("CARGO_PKG_VERSION")))
            .timeout_resolve(Some(opts.timeout))
            .timeout_connect(Some(opts.timeout))
            // Headers dripped a byte at a time must not hold a request forever.
            .timeout_recv_response(Some(opts.timeout))
            .timeout_per_read(Some(opts.timeout))
            .timeout_per_write(Some(opts.timeout))
            .build();
        Client {
            agent: Agent::new_with_config(config),
            timeout: opts.timeout,
            tls: OnceLock::new(),
        }
    }

    /// The TLS settings: the system's roots (honouring `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`), never a compiled-in list.
    fn tls(&self, url: &str) -> Result<TlsConfig> {
        self.tls
            .get_or_init(load_roots)
            .clone()
            .map_err(|reason| Error::Http {
                url: public_url(url),
                status: None,
                reason,
            })
    }

    /// GET `url` with `headers`, following redirects; the final URL and response.
    pub(super) fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<(String, Response<Body>), Failure> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let resp = self.get_once(url, &current, headers)?;
            if !resp.status().is_redirection() || resp.status() == StatusCode::NOT_MODIFIED {
                return Ok((current, resp));
            }
            let next = redirect_target(url, &current, &resp)?;
            current = next;
        }
        Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: None,
            reason: format!("more than {MAX_REDIRECTS} redirects; check the URL"),
        }))
    }

    /// One request, no redirects; `url` is what the user gave, for errors.
    fn get_once(
        &self,
        url: &str,
        current: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<Body>, Failure> {
        if let Some(reason) = request_problem(current) {
            let via = if current == url {
                String::new()
            } else {
                format!("redirected to {}: ", public_url(current))
            };
            return Err(Failure::Final(Error::Http {
                url: public_url(url),
                status: None,
                reason: format!("{via}{reason}"),
            }));
        }
        let https = scheme_of(current) == Some("https");
        let mut req = self.agent.get(current);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let proxy = proxy_for(current).map_err(|reason| {
            Failure::Final(Error::Http {
                url: public_url(url),
                status: None,
                reason,
            })
        })?;
        let mut config = req.config().proxy(proxy);
        if https {
            config = config.tls_config(self.tls(url)?);
        }
        match config.build().call() {
            Ok(resp) => Ok(resp),
            Err(e) => Err(classify(url, current, e, self.timeout)),
        }
    }
}

/// Load the system's root certificates for rustls.
fn load_roots() -> std::result::Result<TlsConfig, String> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty())
        && let Err(e) = std::fs::metadata(&file)
    {
        return Err(format!(
            "SSL_CERT_FILE={}: {e}; point it at a PEM file of trusted certificates",
            file.to_string_lossy()
        ));
    }
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(format!(
            "no trusted root certificates found on this system{why}; install ca-certificates or set SSL_CERT_FILE"
        ));
    }
    let certs = found
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(certs)))
        .build())
}

/// The proxy the environment names for `url` (curl's variables:
/// `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`/`HTTP_PROXY` for
/// http, else `all_proxy`/`ALL_PROXY`), unless `NO_PROXY` exempts its host.
/// A setting that is not a proxy URL is refused rather than bypassed: a
/// network that needs the proxy must not be reached around it.
fn proxy_for(url: &str) -> std::result::Result<Option<Proxy>, String> {
    let var = |names: &[&'static str]| {
        names.iter().find_map(|n| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*n, v))
        })
    };
    let host = host_of(url);
    let exempt =
        var(&["no_proxy", "NO_PROXY"]).is_some_and(|(_, list)| no_proxy_matches(&list, &host));
    if exempt {
        return Ok(None);
    }
    let scheme_vars: &[&str] = if scheme_of(url) == Some("https") {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy", "HTTP_PROXY"]
    };
    let Some((name, spec)) = var(scheme_vars).or_else(|| var(&["all_proxy", "ALL_PROXY"])) else {
        return Ok(None);
    };
    // Without a scheme, an http proxy (as curl reads it).
    let spec = spec.trim();
    let full = if spec.contains("://") {
        spec.to_string()
    } else {
        format!("http://{spec}")
    };
    Proxy::new(&full).map(Some).map_err(|e| {
        format!(
            "{name}={}: not a proxy URL ({}); fix or unset it",
            public_proxy(spec),
            scrub(&e.to_string(), &[spec, &full])
        )
    })
}

/// `NO_PROXY` as curl reads it: `*`, or comma-separated names that match
/// the host itself and its subdomains (a leading `.` or `*.` is ignored).
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split([',', ' ']).map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let name = entry.trim_start_matches("*.").trim_start_matches('.');
        let name = name.split(':').next().unwrap_or(name).to_ascii_lowercase();
        !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
    })
}

/// Where a redirect response points, resolved against `current`; refused
/// if it leaves https for http or names no target.
fn redirect_target(url: &str, current: &str, resp: &Response<Body>) -> Result<String, Failure> {
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!("{} redirect without a Location", status_text(status)),
        })?;
    let next = resolve(current, location);
    match (scheme_of(current), scheme_of(&next)) {
        (Some("https"), Some("http")) => Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!(
                "redirected from https to {}: refused, a download never drops from https to plain http; use that URL directly if you trust it",
                public_url(&next)
            ),
        })),
        (_, Some(_)) => Ok(next),
        _ => Err(Failure::Final(Error::Http {
            url: public_url(url),
            status: Some(status.as_u16()),
            reason: format!(
                "redirected to {}, which is not an http(s) URL",
                public_url(&next)
            ),
        })),
    }
}

/// Sort a transport error into worth-retrying or final.
fn classify(url: &str, current: &str, e: ureq::Error, timeout: Duration) -> Failure {
    let final_error = |reason: String| {
        Failure::Final(Error::Http {
            url: public_url(url),
            status: None,
            reason,
        })
    };
    let via = if current == url {
        String::new()
    } else {
        format!(" (redirected to {})", public_url(current))
    };
    match e {
        ureq::Error::Timeout(t) => Failure::Transient(
            format!("no answer within {} s ({t})", timeout.as_secs_f32()),
            Wait::Backoff,
        ),
        ureq::Error::Io(io) if is_tls(&io) => final_error(format!("TLS{via}: {io}{TLS_HINT}")),
        ureq::Error::Io(io) => transient_io(&io),
        ureq::Error::ConnectionFailed => {
            Failure::Transient("connection failed".into(), Wait::Backoff)
        }
        ureq::Error::HostNotFound => final_error(format!(
            "host not found{via}; check the URL (and the proxy settings)"
        )),
        ureq::Error::Tls(m) => final_error(format!("TLS{via}: {m}{TLS_HINT}")),
        ureq::Error::Rustls(r) => final_error(format!("TLS{via}: {r}{TLS_HINT}")),
        other => final_error(format!(
            "{}{via}",
            scrub(&other.to_string(), &[url, current])
        )),
    }
}

/// A transport error worth another try, said plainly ("connection
/// refused" rather than "Connection refused (os error 111)").
pub(super) fn transient_io(io: &io::Error) -> Failure {
    let wait = match io.kind() {
        io::ErrorKind::ConnectionRefused => Wait::Short,
        _ => Wait::Backoff,
    };
    Failure::Transient(io_text(io), wait)
}

/// What went wrong with the connection, in lower case without an errno.
pub(super) fn io_text(io: &io::Error) -> String {
    match io.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::UnexpectedEof => "connection closed".into(),
        _ => match io.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
            // ureq's own text would be "timeout: per read".
            Some(ureq::Error::Timeout(_)) => "no data within --timeout".into(),
            _ => io.to_string(),
        },
    }
}

/// What to do about a certificate the system's roots do not trust.
const TLS_HINT: &str = "; if the server's certificate comes from a private CA, point SSL_CERT_FILE at that CA's certificate (PEM)";

/// Whether an I/O error is rustls refusing the handshake.
fn is_tls(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// "404 Not Found".
pub(super) fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_and_subdomains() {
        assert!(no_proxy_matches(
            "localhost,.example.org",
            "mirror.example.org"
        ));
        assert!(no_proxy_matches("example.org", "example.org"));
        assert!(no_proxy_matches("*.example.org", "a.example.org"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("127.0.0.1:8080", "127.0.0.1"));
        assert!(!no_proxy_matches("example.org", "badexample.org"));
        assert!(!no_proxy_matches("", "x"));
    }
}
