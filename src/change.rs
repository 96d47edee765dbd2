//! `--change` instructions, as accepted by `podman import` and
//! `docker import`, applied to an image's runtime configuration.
//!
//! Supported: `CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `STOPSIGNAL`,
//! `USER`, `VOLUME` and `WORKDIR`. The instruction keyword is
//! case-insensitive and separated from its argument by whitespace (or by `=`,
//! which podman also accepts: `USER=nobody`).
//!
//! Arguments are read the way docker's Dockerfile parser reads them: words
//! split on unquoted whitespace, single quotes literal, double quotes allowing
//! `\"`, `\\` and `\$`, and a backslash outside quotes escaping the next
//! character. Like podman, `$VAR` references are kept literally rather than
//! expanded.

use oci_spec::image::Config;
use std::collections::{HashMap, HashSet};

/// The `PATH` `podman import` gives images that do not set one.
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a `--change` instruction was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// A Dockerfile instruction that cannot be expressed in an image config
    /// (`RUN`, `COPY`, `FROM`, `ONBUILD`, `HEALTHCHECK`, ...) or an unknown
    /// keyword.
    #[error(
        "unsupported --change instruction {instruction}: only CMD, ENTRYPOINT, ENV, EXPOSE, \
         LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR can be applied"
    )]
    Unsupported {
        /// The instruction keyword, upper-cased.
        instruction: String,
    },
    /// A supported instruction with a missing or malformed argument.
    #[error("invalid --change {instruction:?}: {reason}")]
    Invalid {
        /// The whole instruction as given (trimmed).
        instruction: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Applies one `--change` instruction (e.g. `CMD ["/bin/sh"]`,
/// `ENV A=1 B="two words"`, `EXPOSE 80/tcp`) to `config`.
///
/// On error `config` is left unchanged.
pub(crate) fn apply_change(config: &mut Config, instruction: &str) -> Result<(), ChangeError> {
    let text = instruction.trim();
    let invalid = |reason: String| ChangeError::Invalid {
        instruction: text.to_owned(),
        reason,
    };
    let key_end = text
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(text.len());
    let keyword = text[..key_end].to_ascii_uppercase();
    if keyword.is_empty() {
        return Err(invalid("missing instruction keyword".to_owned()));
    }
    let arg = &text[key_end..];
    // Podman also accepts `KEYWORD=argument`.
    let arg = arg.strip_prefix('=').unwrap_or(arg).trim();
    let Some(kind) = Keyword::parse(&keyword) else {
        return Err(ChangeError::Unsupported {
            instruction: keyword,
        });
    };
    if arg.is_empty() {
        return Err(invalid(format!("{keyword} requires an argument")));
    }
    kind.apply(config, arg).map_err(invalid)
}

/// The instructions `--change` accepts (podman import's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Cmd,
    Entrypoint,
    Env,
    Expose,
    Label,
    StopSignal,
    User,
    Volume,
    Workdir,
}

impl Keyword {
    fn parse(upper: &str) -> Option<Keyword> {
        Some(match upper {
            "CMD" => Keyword::Cmd,
            "ENTRYPOINT" => Keyword::Entrypoint,
            "ENV" => Keyword::Env,
            "EXPOSE" => Keyword::Expose,
            "LABEL" => Keyword::Label,
            "STOPSIGNAL" => Keyword::StopSignal,
            "USER" => Keyword::User,
            "VOLUME" => Keyword::Volume,
            "WORKDIR" => Keyword::Workdir,
            _ => return None,
        })
    }

    /// Apply the instruction with its (non-empty) argument; the error is the reason.
    fn apply(self, config: &mut Config, arg: &str) -> Result<(), String> {
        match self {
            Keyword::Cmd => {
                config.set_cmd(command(arg)?);
            }
            Keyword::Entrypoint => {
                config.set_entrypoint(command(arg)?);
            }
            Keyword::Env => apply_env(config, arg)?,
            Keyword::Label => {
                let pairs = name_values(arg, "LABEL")?;
                let labels = config.labels_mut().get_or_insert_with(HashMap::new);
                labels.extend(pairs);
            }
            Keyword::Expose => apply_expose(config, arg)?,
            Keyword::Volume => apply_volume(config, arg)?,
            Keyword::StopSignal => {
                let word = single_word(arg, "STOPSIGNAL")?;
                let signal = normalize_signal(&word)
                    .ok_or_else(|| format!("{word:?} is not a valid signal"))?;
                config.set_stop_signal(Some(signal));
            }
            Keyword::User => {
                let user = single_word(arg, "USER")?;
                if user.is_empty() || user.starts_with(':') {
                    return Err("USER requires a user name or id".to_owned());
                }
                config.set_user(Some(user));
            }
            Keyword::Workdir => apply_workdir(config, arg)?,
        }
        Ok(())
    }
}

fn apply_env(config: &mut Config, arg: &str) -> Result<(), String> {
    let pairs = name_values(arg, "ENV")?;
    if let Some((key, _)) = pairs.iter().find(|(k, _)| k.contains('=')) {
        return Err(format!("ENV name {key:?} must not contain '='"));
    }
    let mut env = config.env().clone().unwrap_or_default();
    for (key, value) in pairs {
        set_env_var(&mut env, &key, &value);
    }
    config.set_env(Some(env));
    Ok(())
}

fn apply_expose(config: &mut Config, arg: &str) -> Result<(), String> {
    let mut ports = Vec::new();
    for word in words(arg)? {
        expose_spec(&word.text, &mut ports)?;
    }
    let mut all = config.exposed_ports().clone().unwrap_or_default();
    append_unique(&mut all, ports);
    config.set_exposed_ports(Some(all));
    Ok(())
}

fn apply_volume(config: &mut Config, arg: &str) -> Result<(), String> {
    let paths = if arg.starts_with('[') {
        json_array(arg)?
    } else {
        words(arg)?.into_iter().map(|w| w.text).collect()
    };
    if paths.is_empty() {
        return Err("VOLUME requires at least one path".to_owned());
    }
    if paths.iter().any(|p| p.trim().is_empty()) {
        return Err("VOLUME paths must not be empty".to_owned());
    }
    let mut all = config.volumes().clone().unwrap_or_default();
    append_unique(&mut all, paths);
    config.set_volumes(Some(all));
    Ok(())
}

fn apply_workdir(config: &mut Config, arg: &str) -> Result<(), String> {
    let dir = unquote(arg)?;
    if dir.is_empty() {
        return Err("WORKDIR requires a path".to_owned());
    }
    let joined = if dir.starts_with('/') {
        clean_path(&dir)
    } else {
        // Docker joins a relative WORKDIR onto the current one.
        let current = config.working_dir().as_deref().unwrap_or("/");
        clean_path(&format!("/{current}/{dir}"))
    };
    config.set_working_dir(Some(joined));
    Ok(())
}

/// Adds `PATH=`[`DEFAULT_PATH`] to the config's `Env` unless a `PATH` is
/// already set, as `podman import` does.
pub(crate) fn ensure_default_path(config: &mut Config) {
    let mut env = config.env().clone().unwrap_or_default();
    if env.iter().any(|e| env_key(e) == "PATH") {
        return;
    }
    env.push(format!("PATH={DEFAULT_PATH}"));
    config.set_env(Some(env));
}

/// The variable name of an `Env` entry (`KEY=VALUE`, or a bare `KEY`).
fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Sets `key` in an `Env` list, replacing an existing entry in place so the
/// variable keeps its position.
fn set_env_var(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env.iter_mut().find(|e| env_key(e) == key) {
        Some(existing) => *existing = entry,
        None => env.push(entry),
    }
}

/// Appends the items not already present, keeping first-seen order.
fn append_unique(all: &mut Vec<String>, new: Vec<String>) {
    let mut seen: HashSet<String> = all.iter().cloned().collect();
    for item in new {
        if seen.insert(item.clone()) {
            all.push(item);
        }
    }
}

/// `CMD`/`ENTRYPOINT` argument: JSON exec form or shell form. An empty JSON
/// array clears the setting.
fn command(arg: &str) -> Result<Option<Vec<String>>, String> {
    if arg.starts_with('[') {
        let argv = json_array(arg)?;
        Ok((!argv.is_empty()).then_some(argv))
    } else {
        // The shell gets the text verbatim: quoting is its business.
        Ok(Some(vec!["/bin/sh".into(), "-c".into(), arg.to_owned()]))
    }
}

fn json_array(arg: &str) -> Result<Vec<String>, String> {
    serde_json::from_str::<Vec<String>>(arg)
        .map_err(|e| format!("malformed JSON array (expected [\"string\", ...]): {e}"))
}

/// `KEY=VALUE ...` pairs, or the legacy single `KEY VALUE WITH SPACES`.
fn name_values(arg: &str, what: &str) -> Result<Vec<(String, String)>, String> {
    let mut lexer = Lexer::new(arg, true);
    let Some(first) = lexer.next_word()? else {
        return Err(format!("{what} requires an argument"));
    };
    if first.eq.is_none() {
        // Legacy form: the rest of the line, spaces included, is the value.
        let rest = lexer.rest();
        if rest.is_empty() {
            return Err(format!(
                "{what} {} needs a value: use {what} KEY=VALUE or {what} KEY VALUE",
                first.text
            ));
        }
        if first.text.is_empty() {
            return Err(format!("{what} names must not be empty"));
        }
        return Ok(vec![(first.text, unquote(rest)?)]);
    }
    let mut pairs = Vec::new();
    let mut next = Some(first);
    while let Some(word) = next {
        let Some(eq) = word.eq else {
            return Err(format!(
                "can't find = in {:?}: {what} takes KEY=VALUE pairs",
                word.text
            ));
        };
        let (key, value) = (&word.text[..eq], &word.text[eq + 1..]);
        if key.is_empty() {
            return Err(format!("{what} names must not be empty"));
        }
        pairs.push((key.to_owned(), value.to_owned()));
        next = lexer.next_word()?;
    }
    Ok(pairs)
}

/// All whitespace-separated words of `arg`, quotes removed.
fn words(arg: &str) -> Result<Vec<Word>, String> {
    let mut lexer = Lexer::new(arg, true);
    let mut out = Vec::new();
    while let Some(w) = lexer.next_word()? {
        out.push(w);
    }
    Ok(out)
}

fn single_word(arg: &str, what: &str) -> Result<String, String> {
    let mut all = words(arg)?;
    match all.len() {
        1 => Ok(all.remove(0).text),
        _ => Err(format!("{what} takes exactly one argument")),
    }
}

/// `arg` as one word: quotes and escapes processed, whitespace kept.
fn unquote(arg: &str) -> Result<String, String> {
    let mut lexer = Lexer::new(arg, false);
    Ok(lexer.next_word()?.map(|w| w.text).unwrap_or_default())
}

/// One lexed word.
#[derive(Debug)]
struct Word {
    text: String,
    /// Byte offset in `text` of the first `=` that was neither quoted nor
    /// escaped: where a `KEY=VALUE` word splits.
    eq: Option<usize>,
}

/// Dockerfile-style word lexer.
struct Lexer<'a> {
    rest: &'a str,
    split_on_space: bool,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str, split_on_space: bool) -> Self {
        Lexer {
            rest: input.trim(),
            split_on_space,
        }
    }

    /// The unread input, without leading whitespace.
    fn rest(&self) -> &'a str {
        self.rest.trim_start()
    }

    fn next_word(&mut self) -> Result<Option<Word>, String> {
        let input = self.rest.trim_start();
        if input.is_empty() {
            self.rest = input;
            return Ok(None);
        }
        let mut text = String::new();
        let mut eq = None;
        let mut chars = input.char_indices();
        let mut end = input.len();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c.is_whitespace() && self.split_on_space => {
                    end = i;
                    break;
                }
                '\\' => {
                    // Escapes any character; a trailing backslash is dropped
                    // as docker does.
                    if let Some((_, n)) = chars.next() {
                        text.push(n);
                    }
                }
                '\'' => loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, ch)) => text.push(ch),
                        None => return Err("unterminated single quote".to_owned()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => {
                            // Inside double quotes only these are escapes.
                            let mut look = chars.clone();
                            match look.next() {
                                Some((_, n @ ('"' | '\\' | '$'))) => {
                                    text.push(n);
                                    chars = look;
                                }
                                _ => text.push('\\'),
                            }
                        }
                        Some((_, ch)) => text.push(ch),
                        None => return Err("unterminated double quote".to_owned()),
                    }
                },
                '=' if eq.is_none() => {
                    eq = Some(text.len());
                    text.push('=');
                }
                c => text.push(c),
            }
        }
        self.rest = &input[end..];
        Ok(Some(Word { text, eq }))
    }
}

/// Parses one `EXPOSE` spec (`80`, `80/udp`, `8000-8010/tcp`) into
/// `port/proto` entries.
fn expose_spec(spec: &str, out: &mut Vec<String>) -> Result<(), String> {
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_owned()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "invalid protocol {proto:?} in {spec:?}: use tcp, udp or sctp"
        ));
    }
    let bad_port = || format!("invalid port {spec:?}: ports are 1-65535");
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (
            parse_port(a).ok_or_else(bad_port)?,
            parse_port(b).ok_or_else(bad_port)?,
        ),
        None => {
            let p = parse_port(ports).ok_or_else(bad_port)?;
            (p, p)
        }
    };
    if start > end {
        return Err(format!("invalid port range {spec:?}"));
    }
    out.extend((start..=end).map(|p| format!("{p}/{proto}")));
    Ok(())
}

fn parse_port(s: &str) -> Option<u16> {
    // `parse` would accept a leading `+`.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().filter(|&p| p != 0)
}

/// Linux signal names without the `SIG` prefix.
const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL",
    "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP",
    "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
];

/// Real-time signals span SIGRTMIN (34) to SIGRTMAX (64) on Linux.
const RT_SIGNAL_SPAN: u32 = 30;

/// Validates a stop signal: a number 1-64 is kept as is, a name is upper-cased
/// and given the `SIG` prefix the OCI spec uses (`term` → `SIGTERM`,
/// `rtmin+3` → `SIGRTMIN+3`).
fn normalize_signal(s: &str) -> Option<String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = s.parse().ok()?;
        return (1..=64).contains(&n).then(|| n.to_string());
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let rt_offset_ok = |n: &str| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && n.parse::<u32>().is_ok_and(|v| v <= RT_SIGNAL_SPAN)
    };
    let valid = SIGNALS.contains(&name)
        || matches!(name, "RTMIN" | "RTMAX")
        || name.strip_prefix("RTMIN+").is_some_and(rt_offset_ok)
        || name.strip_prefix("RTMAX-").is_some_and(rt_offset_ok);
    valid.then(|| format!("SIG{name}"))
}

/// Lexically cleans an absolute path like Go's `filepath.Clean`.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Config {
        let mut c = Config::default();
        for ch in changes {
            apply_change(&mut c, ch).unwrap_or_else(|e| panic!("{ch}: {e}"));
        }
        c
    }

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn err(change: &str) -> ChangeError {
        let mut c = Config::default();
        match apply_change(&mut c, change) {
            Ok(()) => panic!("{change} should fail"),
            Err(e) => {
                assert_eq!(c, Config::default(), "config untouched on error");
                e
            }
        }
    }

    fn is_invalid(change: &str) -> bool {
        matches!(err(change), ChangeError::Invalid { .. })
    }

    #[test]
    fn cmd_json_and_shell_forms() {
        let c = apply(&[r#"CMD ["/bin/sh","-c","echo hi"]"#]);
        assert_eq!(c.cmd(), &strings(&["/bin/sh", "-c", "echo hi"]));
        let c = apply(&["CMD echo hi"]);
        assert_eq!(c.cmd(), &strings(&["/bin/sh", "-c", "echo hi"]));
        let c = apply(&[r#"cmd   echo "a  b" $HOME  "#]);
        assert_eq!(
            c.cmd(),
            &strings(&["/bin/sh", "-c", r#"echo "a  b" $HOME"#])
        );
        let c = apply(&["CMD [\"/bin/true\"]", "CMD []"]);
        assert_eq!(c.cmd(), &None);
    }

    #[test]
    fn entrypoint_forms_and_independence() {
        let c = apply(&[
            r#"CMD ["--help"]"#,
            r#"ENTRYPOINT ["/usr/bin/tool", "run"]"#,
        ]);
        assert_eq!(c.entrypoint(), &strings(&["/usr/bin/tool", "run"]));
        assert_eq!(
            c.cmd(),
            &strings(&["--help"]),
            "ENTRYPOINT leaves CMD alone"
        );
        let c = apply(&["entrypoint exec nginx -g 'daemon off;'"]);
        assert_eq!(
            c.entrypoint(),
            &strings(&["/bin/sh", "-c", "exec nginx -g 'daemon off;'"])
        );
        let c = apply(&["ENTRYPOINT /x", "ENTRYPOINT []"]);
        assert_eq!(c.entrypoint(), &None);
    }

    #[test]
    fn cmd_errors() {
        assert!(is_invalid("CMD"));
        assert!(is_invalid("CMD   "));
        assert!(is_invalid(r#"CMD ["a", 'b']"#));
        assert!(is_invalid(r#"ENTRYPOINT ["a", 1]"#));
        assert!(is_invalid(r#"CMD ["unterminated"#));
    }

    #[test]
    fn env_forms() {
        let c = apply(&["ENV A=1"]);
        assert_eq!(c.env(), &strings(&["A=1"]));
        let c = apply(&[r#"ENV A=1 B="two words" C='x' D="say \"hi\" \\ \$HOME \n" E=a\ b F="#]);
        assert_eq!(
            c.env(),
            &strings(&[
                "A=1",
                "B=two words",
                "C=x",
                r#"D=say "hi" \ $HOME \n"#,
                "E=a b",
                "F=",
            ])
        );
        let c = apply(&["ENV MSG hello  big world"]);
        assert_eq!(c.env(), &strings(&["MSG=hello  big world"]));
        let c = apply(&[r#"ENV MSG "quoted value""#]);
        assert_eq!(c.env(), &strings(&["MSG=quoted value"]));
        let c = apply(&["ENV URL=http://x/?a=b=c", "env lower=case"]);
        assert_eq!(c.env(), &strings(&["URL=http://x/?a=b=c", "lower=case"]));
        let c = apply(&[r#"ENV A="x=y" B='=' "#]);
        assert_eq!(c.env(), &strings(&["A=x=y", "B=="]));
        // A quoted `=` is not the separator, and names cannot hold one.
        assert!(is_invalid(r#"ENV "A=B"=c"#));
    }

    #[test]
    fn env_replaces_in_place() {
        let c = apply(&["ENV A=1 B=2 C=3", "ENV B=two", "ENV A 1 again", "ENV D=4"]);
        assert_eq!(c.env(), &strings(&["A=1 again", "B=two", "C=3", "D=4"]));
    }

    #[test]
    fn env_errors() {
        assert!(is_invalid("ENV"));
        assert!(is_invalid("ENV KEYONLY"));
        assert!(is_invalid("ENV A=1 B"));
        assert!(is_invalid("ENV =1"));
        assert!(is_invalid(r#"ENV A="open"#));
        assert!(is_invalid("ENV A='open"));
    }

    #[test]
    fn default_path() {
        let mut c = Config::default();
        ensure_default_path(&mut c);
        assert_eq!(
            c.env(),
            &strings(&["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        );
        ensure_default_path(&mut c);
        assert_eq!(c.env().as_ref().map(Vec::len), Some(1));

        let mut c = apply(&["ENV A=1 PATH=/opt/bin"]);
        ensure_default_path(&mut c);
        assert_eq!(c.env(), &strings(&["A=1", "PATH=/opt/bin"]));

        let mut c = apply(&["ENV A=1 PATHX=1"]);
        ensure_default_path(&mut c);
        assert_eq!(
            c.env(),
            &strings(&["A=1", "PATHX=1", &format!("PATH={DEFAULT_PATH}")])
        );
    }

    #[test]
    fn expose() {
        let c = apply(&["EXPOSE 80"]);
        assert_eq!(c.exposed_ports(), &strings(&["80/tcp"]));
        let c = apply(&["EXPOSE 80/tcp 53/udp", "expose 53/UDP 9/sctp 8000-8002"]);
        assert_eq!(
            c.exposed_ports(),
            &strings(&[
                "80/tcp", "53/udp", "9/sctp", "8000/tcp", "8001/tcp", "8002/tcp"
            ])
        );
        assert_eq!(
            apply(&["EXPOSE 0080"]).exposed_ports(),
            &strings(&["80/tcp"])
        );
        for bad in [
            "EXPOSE",
            "EXPOSE 0",
            "EXPOSE 65536",
            "EXPOSE +80",
            "EXPOSE http",
            "EXPOSE 80/icmp",
            "EXPOSE 80/",
            "EXPOSE 90-80",
            "EXPOSE 80/tcp/x",
        ] {
            assert!(is_invalid(bad), "{bad}");
        }
    }

    #[test]
    fn labels() {
        let c = apply(&[
            r#"LABEL k=v k2="v 2" 'k 3'=x"#,
            "LABEL legacy value with  spaces",
            "label k=override",
        ]);
        let expected: HashMap<String, String> = [
            ("k", "override"),
            ("k2", "v 2"),
            ("k 3", "x"),
            ("legacy", "value with  spaces"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(c.labels(), &Some(expected));
        assert!(is_invalid("LABEL"));
        assert!(is_invalid("LABEL onlykey"));
        assert!(is_invalid("LABEL =v"));
    }

    #[test]
    fn stop_signal() {
        assert_eq!(
            apply(&["STOPSIGNAL SIGTERM"]).stop_signal(),
            &Some("SIGTERM".into())
        );
        assert_eq!(
            apply(&["STOPSIGNAL quit"]).stop_signal(),
            &Some("SIGQUIT".into())
        );
        assert_eq!(apply(&["STOPSIGNAL 9"]).stop_signal(), &Some("9".into()));
        assert_eq!(
            apply(&["STOPSIGNAL SIGRTMIN+3"]).stop_signal(),
            &Some("SIGRTMIN+3".into())
        );
        for bad in [
            "STOPSIGNAL",
            "STOPSIGNAL 0",
            "STOPSIGNAL 65",
            "STOPSIGNAL SIGFOO",
            "STOPSIGNAL SIGRTMIN+31",
            "STOPSIGNAL TERM KILL",
        ] {
            assert!(is_invalid(bad), "{bad}");
        }
    }

    #[test]
    fn user() {
        assert_eq!(apply(&["USER nobody"]).user(), &Some("nobody".into()));
        assert_eq!(apply(&["USER 1000:1000"]).user(), &Some("1000:1000".into()));
        assert_eq!(apply(&["user app:staff"]).user(), &Some("app:staff".into()));
        assert_eq!(apply(&["USER=root"]).user(), &Some("root".into()));
        assert!(is_invalid("USER"));
        assert!(is_invalid("USER a b"));
        assert!(is_invalid("USER :group"));
    }

    #[test]
    fn volumes() {
        let c = apply(&["VOLUME /data"]);
        assert_eq!(c.volumes(), &strings(&["/data"]));
        let c = apply(&[r#"VOLUME ["/a","/b"]"#, "VOLUME /c /a", "volume [\"/d\"]"]);
        assert_eq!(c.volumes(), &strings(&["/a", "/b", "/c", "/d"]));
        assert!(is_invalid("VOLUME"));
        assert!(is_invalid("VOLUME []"));
        assert!(is_invalid(r#"VOLUME ["/a", ""]"#));
        assert!(is_invalid(r#"VOLUME ["/a""#));
    }

    #[test]
    fn workdir() {
        assert_eq!(apply(&["WORKDIR /app"]).working_dir(), &Some("/app".into()));
        assert_eq!(
            apply(&["WORKDIR /a", "WORKDIR b", "WORKDIR c/../d/"]).working_dir(),
            &Some("/a/b/d".into())
        );
        assert_eq!(apply(&["WORKDIR rel"]).working_dir(), &Some("/rel".into()));
        assert_eq!(
            apply(&["WORKDIR /x", "WORKDIR /y//z/."]).working_dir(),
            &Some("/y/z".into())
        );
        assert_eq!(
            apply(&[r#"WORKDIR "/my dir""#]).working_dir(),
            &Some("/my dir".into())
        );
        assert_eq!(apply(&["WORKDIR /../.."]).working_dir(), &Some("/".into()));
        assert!(is_invalid("WORKDIR"));
        assert!(is_invalid("WORKDIR ''"));
    }

    #[test]
    fn unsupported_instructions() {
        for (change, name) in [
            ("RUN apt-get update", "RUN"),
            ("ADD a /b", "ADD"),
            ("COPY a /b", "COPY"),
            ("FROM scratch", "FROM"),
            ("ONBUILD RUN x", "ONBUILD"),
            ("healthcheck CMD true", "HEALTHCHECK"),
            ("SHELL [\"/bin/bash\"]", "SHELL"),
            ("MAINTAINER me", "MAINTAINER"),
            ("NOPE", "NOPE"),
        ] {
            match err(change) {
                ChangeError::Unsupported { instruction } => assert_eq!(instruction, name),
                other => panic!("{change}: {other:?}"),
            }
        }
        assert!(is_invalid(""));
        assert!(is_invalid("   "));
        assert!(is_invalid("=x"));
    }

    #[test]
    fn error_messages_name_the_instruction() {
        let e = err("RUN x").to_string();
        assert!(e.contains("RUN"), "{e}");
        let e = err("EXPOSE 99999").to_string();
        assert!(e.contains("EXPOSE 99999") && e.contains("1-65535"), "{e}");
    }

    #[test]
    fn json_forms_serialize_deterministically() {
        let c = apply(&["EXPOSE 443 80", "VOLUME /b /a"]);
        assert_eq!(c.exposed_ports(), &strings(&["443/tcp", "80/tcp"]));
        assert_eq!(c.volumes(), &strings(&["/b", "/a"]));
    }
}
