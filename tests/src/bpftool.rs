//! Parses `bpftool btf dump file F format raw` (libbpf's view of every type)
//! so tests can compare our parser's view of the same BTF, type by type.

/// `key=value` attributes of one line.
pub type Attrs = Vec<(String, String)>;

/// One type as bpftool prints it.
#[derive(Debug, Clone, Default)]
pub struct RawType {
    /// Type id.
    pub id: u32,
    /// Kind in bpftool's spelling (`STRUCT`, `ENUM64`, ...).
    pub kind: String,
    /// Name (`""` for `'(anon)'`).
    pub name: String,
    /// `key=value` attributes of the header line.
    pub attrs: Vec<(String, String)>,
    /// One entry per member / enumerator / parameter / variable line: its
    /// name (if quoted) and `key=value` attributes.
    pub elems: Vec<(Option<String>, Attrs)>,
}

impl RawType {
    /// The value of attribute `key` of the header line.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn split_quoted(s: &str) -> (Option<String>, &str) {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('\'') {
        if let Some(end) = rest.find('\'') {
            let name = &rest[..end];
            let name = if name == "(anon)" {
                String::new()
            } else {
                name.to_string()
            };
            return (Some(name), &rest[end + 1..]);
        }
    }
    (None, s)
}

fn attrs(s: &str) -> Vec<(String, String)> {
    s.split_whitespace()
        .filter_map(|kv| kv.trim_end_matches(',').split_once('='))
        // enum64 values carry C suffixes (`56ULL`, `-1LL`).
        .map(|(k, v)| {
            (
                k.to_string(),
                v.trim_end_matches("ULL").trim_end_matches("LL").to_string(),
            )
        })
        .collect()
}

/// Parses the whole dump.
pub fn parse(text: &str) -> Vec<RawType> {
    let mut out: Vec<RawType> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let Some((id, rest)) = rest.split_once("] ") else {
                continue;
            };
            let Some((kind, rest)) = rest.split_once(' ') else {
                continue;
            };
            let (name, rest) = split_quoted(rest);
            out.push(RawType {
                id: id.parse().unwrap_or(0),
                kind: kind.to_string(),
                name: name.unwrap_or_default(),
                attrs: attrs(rest),
                elems: Vec::new(),
            });
        } else if let Some(body) = line.strip_prefix('\t') {
            let (name, rest) = split_quoted(body);
            if let Some(t) = out.last_mut() {
                t.elems.push((name, attrs(rest)));
            }
        }
    }
    out
}
