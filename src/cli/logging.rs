//! Log set-up. Commands log text to stderr; `pavseg serve` follows its `[log]` settings (text
//! or one JSON object per line with the enclosing spans' fields, to stdout or stderr).
//! `PAVSEG_LOG` (or `RUST_LOG`) overrides the level in either case.

use crate::config::{LogFormat, LogOutput, LogSettings};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

fn filter(default: &str) -> EnvFilter {
    let directives = std::env::var("PAVSEG_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default.into());
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(default))
}

/// Text to stderr at `info`: what every command but `serve` uses.
pub fn init_default() {
    init(&LogSettings {
        output: LogOutput::Stderr,
        ..LogSettings::default()
    });
}

/// Installs the global subscriber; a second call does nothing.
pub fn init(s: &LogSettings) {
    use std::io::IsTerminal;
    let (writer, terminal) = match s.output {
        LogOutput::Stdout => (BoxMakeWriter::new(std::io::stdout), std::io::stdout().is_terminal()),
        LogOutput::Stderr => (BoxMakeWriter::new(std::io::stderr), std::io::stderr().is_terminal()),
    };
    // Colour only on a terminal: journald and log files get plain text.
    let colour = terminal && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&s.level))
        .with_writer(writer)
        .with_target(false)
        .with_ansi(colour);
    let _ = match s.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
