//! CLIP's byte-level BPE tokenizer, reading the merges file that open_clip ships
//! (`open_clip/bpe_simple_vocab_16e6.txt.gz`): byte-to-unicode mapping, the pre-tokenising
//! regex, greedy lowest-rank merges, `<start_of_text>` ... `<end_of_text>` padded with zeros.
//!
//! Text cleaning: whitespace collapsed, HTML entities unescaped (twice, as open_clip), lower case.
//! open_clip also runs ftfy (mojibake repair, NFC); prompts from configuration do not need it.

use super::TextError;
use regex::Regex;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Merges used by CLIP (lines 1 ..= 48894 of the file).
const MERGES: usize = 49152 - 256 - 2;
pub const START_OF_TEXT: &str = "<start_of_text>";
pub const END_OF_TEXT: &str = "<end_of_text>";

pub struct ClipTokenizer {
    byte_chars: [char; 256],
    encoder: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    pattern: Regex,
    sot: u32,
    eot: u32,
}

/// The reversible byte -> printable character table of GPT-2/CLIP BPE.
fn bytes_to_unicode() -> Vec<(u8, char)> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut chars = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    printable.into_iter().zip(chars).map(|(b, c)| (b as u8, char::from_u32(c).unwrap_or('?'))).collect()
}

impl ClipTokenizer {
    /// Reads the gzipped merges file.
    pub fn from_file(path: &Path) -> Result<Self, TextError> {
        let err = |reason: String| TextError::Vocabulary { path: path.to_owned(), reason };
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).map_err(|e| err(e.to_string()))?;
        Self::from_merges(&text).map_err(err)
    }

    /// Builds the tokenizer from the merges file's text (first line a header).
    pub fn from_merges(text: &str) -> Result<Self, String> {
        let merges: Vec<(String, String)> = text
            .split('\n')
            .skip(1)
            .take(MERGES)
            .map(|line| {
                let mut parts = line.split_whitespace();
                match (parts.next(), parts.next()) {
                    (Some(a), Some(b)) => Ok((a.to_owned(), b.to_owned())),
                    _ => Err(format!("malformed merge line `{line}`")),
                }
            })
            .collect::<Result<_, _>>()?;
        if merges.len() != MERGES {
            return Err(format!("{} merges, CLIP needs {MERGES}", merges.len()));
        }
        let table = bytes_to_unicode();
        let mut byte_chars = ['?'; 256];
        for &(b, c) in &table {
            byte_chars[b as usize] = c;
        }
        let mut vocab: Vec<String> = table.iter().map(|&(_, c)| c.to_string()).collect();
        vocab.extend(table.iter().map(|&(_, c)| format!("{c}</w>")));
        vocab.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
        vocab.push(START_OF_TEXT.to_owned());
        vocab.push(END_OF_TEXT.to_owned());
        let encoder: HashMap<String, u32> = vocab.into_iter().enumerate().map(|(i, t)| (t, i as u32)).collect();
        let ranks = merges.into_iter().enumerate().map(|(i, m)| (m, i)).collect();
        let pattern = Regex::new(&format!(
            r"(?i){START_OF_TEXT}|{END_OF_TEXT}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+"
        ))
        .map_err(|e| e.to_string())?;
        let sot = encoder[START_OF_TEXT];
        let eot = encoder[END_OF_TEXT];
        Ok(ClipTokenizer { byte_chars, encoder, ranks, pattern, sot, eot })
    }

    pub fn start_of_text(&self) -> u32 {
        self.sot
    }

    pub fn end_of_text(&self) -> u32 {
        self.eot
    }

    /// BPE token ids of `text` (no start/end tokens).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cleaned = clean(text);
        let mut ids = Vec::new();
        for m in self.pattern.find_iter(&cleaned) {
            let token = m.as_str();
            if token == START_OF_TEXT || token == END_OF_TEXT {
                ids.push(if token == START_OF_TEXT { self.sot } else { self.eot });
                continue;
            }
            let mapped: String = token.bytes().map(|b| self.byte_chars[b as usize]).collect();
            ids.extend(self.bpe(&mapped).iter().filter_map(|piece| self.encoder.get(piece).copied()));
        }
        ids
    }

    /// `[sot] + encode(text) + [eot]`, truncated to `context` (the last id then `eot`) and padded
    /// with 0, as open_clip's `tokenize`.
    pub fn tokenize(&self, text: &str, context: usize) -> Vec<i64> {
        let mut ids: Vec<i64> = std::iter::once(self.sot).chain(self.encode(text)).chain(std::iter::once(self.eot)).map(i64::from).collect();
        if ids.len() > context {
            ids.truncate(context);
            if let Some(last) = ids.last_mut() {
                *last = i64::from(self.eot);
            }
        }
        ids.resize(context, 0);
        ids
    }

    /// Greedy BPE of one pre-token (already byte-mapped): repeatedly merge the adjacent pair of
    /// lowest rank; the last symbol carries the end-of-word marker.
    fn bpe(&self, token: &str) -> Vec<String> {
        let chars: Vec<char> = token.chars().collect();
        let Some((last, rest)) = chars.split_last() else { return Vec::new() };
        let mut word: Vec<String> = rest.iter().map(|c| c.to_string()).collect();
        word.push(format!("{last}</w>"));
        loop {
            let best = word
                .windows(2)
                .filter_map(|p| self.ranks.get(&(p[0].clone(), p[1].clone())).map(|&r| (r, p[0].clone(), p[1].clone())))
                .min_by_key(|(r, _, _)| *r);
            let Some((_, first, second)) = best else { break };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    merged.push(format!("{first}{second}"));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
            if word.len() == 1 {
                break;
            }
        }
        word
    }
}

/// open_clip's "lower" cleaning without ftfy: HTML unescape twice, collapse whitespace, lower case.
fn clean(text: &str) -> String {
    let text = unescape_html(&unescape_html(text));
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The common HTML entities (named ones that prompts plausibly hold, and numeric ones).
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let decoded = tail.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &tail[1..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            ch.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where open_clip keeps its vocabulary inside a site-packages folder.
pub const VOCAB_IN_SITE_PACKAGES: &str = "open_clip/bpe_simple_vocab_16e6.txt.gz";

/// The vocabulary file: `explicit` if given, else the first site-packages that holds it.
pub fn find_vocabulary(explicit: Option<&Path>) -> Result<PathBuf, TextError> {
    super::discover::find_in_site_packages(explicit, VOCAB_IN_SITE_PACKAGES)
}
