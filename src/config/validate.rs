//! Checks that types alone cannot express; each error names the key at fault.

use super::{ConfigError, DestinationKind, DestinationSettings, Settings};

fn check(ok: bool, key: &'static str, reason: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid { key, reason: reason() })
    }
}

/// An AE title: 1 to 16 characters of the default repertoire, no backslash or control
/// characters, not only spaces.
pub fn valid_ae_title(ae: &str) -> bool {
    !ae.trim().is_empty() && ae.len() <= 16 && ae.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\')
}

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = &self.node;
        check(valid_ae_title(&n.ae_title), "node.ae_title", || {
            format!("{:?} is not an AE title (1-16 printable ASCII characters, no backslash)", n.ae_title)
        })?;
        check(n.bind.parse::<std::net::IpAddr>().is_ok(), "node.bind", || {
            format!("{:?} is not an IP address", n.bind)
        })?;
        for ae in &n.allowed_calling_ae_titles {
            check(valid_ae_title(ae), "node.allowed_calling_ae_titles", || format!("{ae:?} is not an AE title"))?;
        }
        check(n.max_associations >= 1, "node.max_associations", || "must be at least 1".into())?;
        check(n.max_pending_connections >= 1, "node.max_pending_connections", || "must be at least 1".into())?;
        check(
            (1..=n.max_pending_connections).contains(&n.max_pending_per_address),
            "node.max_pending_per_address",
            || format!("{} must lie in 1..=node.max_pending_connections", n.max_pending_per_address),
        )?;
        check(n.associate_timeout_seconds >= 1, "node.associate_timeout_seconds", || "must be at least 1".into())?;
        check((4096..=16 * 1024 * 1024).contains(&n.max_pdu_length), "node.max_pdu_length", || {
            format!("{} is outside 4096..=16777216", n.max_pdu_length)
        })?;
        check(n.max_instance_bytes >= 1024, "node.max_instance_bytes", || "must be at least 1024".into())?;
        check(n.read_timeout_seconds >= 1, "node.read_timeout_seconds", || "must be at least 1".into())?;
        let s = &self.spool;
        check(!s.dir.as_os_str().is_empty(), "spool.dir", || "must not be empty".into())?;
        check(s.stability_seconds.is_finite() && s.stability_seconds > 0.0, "spool.stability_seconds", || {
            format!("{} must be a positive number of seconds", s.stability_seconds)
        })?;
        check(s.skipped_retention_days >= 0.0 && s.skipped_retention_days.is_finite(), "spool.skipped_retention_days", || {
            "must be a non-negative number of days".into()
        })?;
        let p = &self.pipeline;
        for plugin in &p.plugins {
            check(plugin.is_file(), "pipeline.plugins", || format!("plugin file {} does not exist", plugin.display()))?;
        }
        check(p.queue_capacity >= 1, "pipeline.queue_capacity", || "must be at least 1".into())?;
        check(p.workers >= 1, "pipeline.workers", || "must be at least 1".into())?;
        check(p.max_attempts >= 1, "pipeline.max_attempts", || "must be at least 1".into())?;
        check(p.retry_seconds.is_finite() && p.retry_seconds > 0.0, "pipeline.retry_seconds", || {
            format!("{} must be a positive number of seconds", p.retry_seconds)
        })?;
        check(p.max_series_voxels >= 8, "pipeline.max_series_voxels", || "must be at least 8".into())?;
        check(
            p.slice_spacing_tolerance > 0.0 && p.slice_spacing_tolerance < 0.5,
            "pipeline.slice_spacing_tolerance",
            || format!("{} must lie in (0, 0.5)", p.slice_spacing_tolerance),
        )?;
        let d = &self.delivery;
        check(valid_ae_title(&d.calling_ae_title), "delivery.calling_ae_title", || {
            format!("{:?} is not an AE title", d.calling_ae_title)
        })?;
        check(d.max_attempts >= 1, "delivery.max_attempts", || "must be at least 1".into())?;
        check(
            d.initial_backoff_seconds > 0.0 && d.max_backoff_seconds >= d.initial_backoff_seconds,
            "delivery.initial_backoff_seconds",
            || "must be positive and at most delivery.max_backoff_seconds".into(),
        )?;
        check(d.timeout_seconds >= 1, "delivery.timeout_seconds", || "must be at least 1".into())?;
        let mut names = std::collections::BTreeSet::new();
        for dest in &self.destinations {
            check(valid_name(&dest.name), "destinations.name", || {
                format!("{:?} must be 1-32 letters, digits, '-' or '_'", dest.name)
            })?;
            check(names.insert(dest.name.clone()), "destinations.name", || format!("{:?} is used twice", dest.name))?;
            check(dest.client_certificate.is_some() == dest.client_key.is_some(), "destinations.client_key", || {
                format!("destination {}: client_certificate and client_key go together", dest.name)
            })?;
            check(dest.timeout_seconds.is_none_or(|t| t >= 1), "destinations.timeout_seconds", || {
                format!("destination {}: must be at least 1", dest.name)
            })?;
            match dest.kind {
                DestinationKind::Dimse => check_dimse(dest)?,
                DestinationKind::Dicomweb => check_dicomweb(dest)?,
            }
        }
        if let Some(tls) = &n.tls {
            check(tls.port != 0 || n.port == 0, "node.tls.port", || "must be a TCP port (0 only when node.port is 0)".into())?;
            check(!tls.plain || tls.port != n.port || n.port == 0, "node.tls.port", || {
                format!("{} is node.port too; the TLS and plain listeners need different ports", tls.port)
            })?;
        }
        let h = &self.http;
        check(h.bind.parse::<std::net::IpAddr>().is_ok(), "http.bind", || format!("{:?} is not an IP address", h.bind))?;
        check(tracing_subscriber::EnvFilter::try_new(&self.log.level).is_ok(), "log.level", || {
            format!("{:?} is not a level or filter (e.g. \"info\" or \"info,pavseg=debug\")", self.log.level)
        })?;
        Ok(())
    }
}

/// A name that is safe as part of a folder name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A C-STORE destination: an AE title at a host and port, none of the DICOMweb keys.
fn check_dimse(dest: &DestinationSettings) -> Result<(), ConfigError> {
    check(valid_ae_title(&dest.ae_title), "destinations.ae_title", || {
        format!("{:?} (destination {}) is not an AE title", dest.ae_title, dest.name)
    })?;
    check(!dest.host.is_empty() && dest.port != 0, "destinations.host", || {
        format!("destination {} needs a host and a non-zero port", dest.name)
    })?;
    check(!dest.tls || dest.ca.is_some(), "destinations.ca", || {
        format!("destination {} has tls = true but no ca to trust", dest.name)
    })?;
    let web_keys = dest.url.is_some()
        || dest.username.is_some()
        || dest.password.is_some()
        || dest.password_file.is_some()
        || dest.bearer_token.is_some()
        || dest.bearer_token_file.is_some();
    check(!web_keys, "destinations.url", || {
        format!(
            "destination {} is kind = \"dimse\": url, username, password(_file) and bearer_token(_file) \
             are keys of kind = \"dicomweb\"",
            dest.name
        )
    })
}

/// A STOW-RS destination: an http(s) service root without credentials in it, at most one way
/// of authenticating, none of the DIMSE keys.
fn check_dicomweb(dest: &DestinationSettings) -> Result<(), ConfigError> {
    let name = &dest.name;
    check(dest.ae_title.is_empty() && dest.host.is_empty() && dest.port == 0, "destinations.host", || {
        format!("destination {name} is kind = \"dicomweb\": ae_title, host and port are keys of kind = \"dimse\" (url says where)")
    })?;
    check(!dest.tls && dest.server_name.is_none(), "destinations.tls", || {
        format!("destination {name} is kind = \"dicomweb\": an https url uses TLS (tls and server_name are keys of kind = \"dimse\")")
    })?;
    let url = dest.url.as_deref().ok_or_else(|| ConfigError::Invalid {
        key: "destinations.url",
        reason: format!("destination {name} is kind = \"dicomweb\" and needs url, the DICOMweb service root"),
    })?;
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::Invalid {
        key: "destinations.url",
        reason: format!("destination {name}: {url:?} is not a URL: {e}"),
    })?;
    check(matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(), "destinations.url", || {
        format!("destination {name}: {url:?} must be an http:// or https:// URL with a host")
    })?;
    check(parsed.username().is_empty() && parsed.password().is_none(), "destinations.url", || {
        format!("destination {name}: the url must not carry credentials; use username and password (or password_file)")
    })?;
    check(parsed.query().is_none() && parsed.fragment().is_none(), "destinations.url", || {
        format!("destination {name}: {url:?} must be the service root, without query or fragment")
    })?;
    let https = parsed.scheme() == "https";
    check(https || (dest.ca.is_none() && dest.client_certificate.is_none()), "destinations.ca", || {
        format!("destination {name}: ca and client_certificate need an https url")
    })?;
    check(dest.password.is_none() || dest.password_file.is_none(), "destinations.password", || {
        format!("destination {name}: password and password_file exclude each other")
    })?;
    check(dest.bearer_token.is_none() || dest.bearer_token_file.is_none(), "destinations.bearer_token", || {
        format!("destination {name}: bearer_token and bearer_token_file exclude each other")
    })?;
    let password = dest.password.is_some() || dest.password_file.is_some();
    check(dest.username.is_some() == password, "destinations.username", || {
        format!("destination {name}: username and password (or password_file) go together")
    })?;
    check(dest.username.as_deref().is_none_or(|u| !u.contains(':')), "destinations.username", || {
        format!("destination {name}: a basic-authentication username cannot contain ':'")
    })?;
    let bearer = dest.bearer_token.is_some() || dest.bearer_token_file.is_some();
    check(!(password && bearer), "destinations.bearer_token", || {
        format!("destination {name}: choose basic (username, password) or bearer authentication, not both")
    })
}
