//! A peer's address written `AE@HOST:PORT`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    pub ae_title: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.ae_title, self.host, self.port)
    }
}

impl FromStr for Destination {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not AE@HOST:PORT");
        let (ae, rest) = s.split_once('@').ok_or_else(bad)?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| format!("{s:?}: port {port:?} is not a number in 1..65535"))?;
        if ae.is_empty() || ae.len() > 16 || host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Destination { ae_title: ae.to_string(), host: host.trim_matches(['[', ']']).to_string(), port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ae_host_port() {
        let d: Destination = "STORESCP@127.0.0.1:11113".parse().unwrap();
        assert_eq!((d.ae_title.as_str(), d.host.as_str(), d.port), ("STORESCP", "127.0.0.1", 11113));
        assert!("NOPE".parse::<Destination>().is_err());
        assert!("AE@host:notaport".parse::<Destination>().is_err());
        assert!("@host:104".parse::<Destination>().is_err());
    }
}
