//! Parses `pahole -C a,b,c FILE` output into member offsets: the anchor the
//! offset tests compare against. pahole prints members of anonymous structs
//! and unions inline with absolute offsets; bitfields as `byte: bit unit`.
//! With `-E` (`--expand_types`) it also prints the members of every struct
//! a member embeds by value, through typedefs ([`parse_expanded`]); `pahole
//! -C NAME` of an enum prints its constants ([`parse_enum`]).

use std::collections::BTreeMap;

/// One member as pahole prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaholeMember {
    /// Path below the struct (inline named structs give dotted paths).
    pub path: String,
    /// The declaration text (type and name), e.g. `struct list_head lru`.
    pub decl: String,
    /// Offset in bits from the start of the struct.
    pub bit_offset: u64,
    /// Bitfield width (0: not a bitfield).
    pub bitfield_bits: u32,
    /// Size column: the member's size, or the bitfield's storage unit.
    pub size: u64,
    /// How many inline (anonymous or named) struct/union levels enclose it.
    pub nesting: usize,
}

/// A struct as pahole prints it.
#[derive(Debug, Clone, Default)]
pub struct PaholeStruct {
    /// `struct` or `union`.
    pub keyword: String,
    /// Total size from the `/* size: N, ... */` line.
    pub size: u64,
    /// Members in print order.
    pub members: Vec<PaholeMember>,
}

/// Name of the declared member in a C declaration (`char comm[16]`,
/// `void (*func)(void)`, `struct page *page`, `unsigned int x:1`).
fn declared_name(decl: &str) -> Option<String> {
    let decl = decl.trim();
    if let Some(i) = decl.find("(*") {
        let rest = &decl[i + 2..];
        let end = rest.find(')')?;
        return Some(rest[..end].trim().to_string());
    }
    let decl = decl.split(':').next()?.trim_end();
    let decl = match decl.find('[') {
        Some(i) => &decl[..i],
        None => decl,
    };
    let name = decl
        .rsplit(|c: char| c.is_whitespace() || c == '*')
        .next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// Drops `__attribute__((...))` from a declaration.
fn strip_attributes(decl: &str) -> String {
    let mut s = decl.to_string();
    while let Some(i) = s.find("__attribute__((") {
        let mut depth = 0;
        let mut end = s.len();
        for (j, c) in s[i..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s.replace_range(i..end, "");
    }
    s
}

/// Parses the `/* off size */` or `/* off: bit size */` comment.
fn parse_comment(c: &str) -> Option<(u64, Option<u64>, u64)> {
    let c = c.trim();
    if let Some((off, rest)) = c.split_once(':') {
        let mut it = rest.split_whitespace();
        let bit = it.next()?.parse().ok()?;
        let size = it.next()?.parse().ok()?;
        return Some((off.trim().parse().ok()?, Some(bit), size));
    }
    let mut it = c.split_whitespace();
    let off = it.next()?.parse().ok()?;
    let size = it.next()?.parse().ok()?;
    it.next().is_none().then_some((off, None, size))
}

/// Drops the `/* typedef A -> B */ ` comments `pahole -E` puts before an
/// expanded member (a whole-line comment becomes empty).
fn strip_leading_comments(mut line: &str) -> &str {
    while let Some(rest) = line.strip_prefix("/*") {
        match rest.find("*/") {
            Some(end) => line = rest[end + 2..].trim_start(),
            None => break,
        }
    }
    line
}

/// Parses pahole's output for one or more structs.
pub fn parse(text: &str) -> BTreeMap<String, PaholeStruct> {
    parse_with(text, false)
}

/// Parses `pahole -E` output: as [`parse`], and each member whose type
/// pahole expanded (a struct or union embedded by value, also through
/// typedefs) is a member itself, named by its path (`list`, `head_id`), next
/// to its own members (`list.next`, `head_id.counter`), all with absolute
/// offsets. Inside an expanded array (`struct zone node_zones[4]`) the
/// paths keep the brackets (`node_zones[4].name`: the first element's).
pub fn parse_expanded(text: &str) -> BTreeMap<String, PaholeStruct> {
    parse_with(text, true)
}

fn parse_with(text: &str, expanded: bool) -> BTreeMap<String, PaholeStruct> {
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, PaholeStruct)> = None;
    // Members collected inside each open inline struct/union (innermost last).
    let mut blocks: Vec<Vec<PaholeMember>> = Vec::new();
    // The opening line of each open block (`struct list_head`, `union`).
    let mut openers: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        if cur.is_none() {
            if let Some(head) = line.strip_suffix(" {") {
                if let Some((kw, name)) = head.split_once(' ') {
                    if (kw == "struct" || kw == "union") && !raw.starts_with('\t') {
                        cur = Some((
                            name.to_string(),
                            PaholeStruct {
                                keyword: kw.to_string(),
                                ..Default::default()
                            },
                        ));
                        blocks = vec![Vec::new()];
                        openers = vec![head.to_string()];
                    }
                }
            }
            continue;
        }
        let mut trimmed = line.trim_start();
        if let Some(size) = trimmed.strip_prefix("/* size: ") {
            if let Some((_, s)) = cur.as_mut() {
                s.size = size
                    .split(',')
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
            }
            continue;
        }
        if line.starts_with('}') {
            if let Some((name, mut s)) = cur.take() {
                s.members = blocks.pop().unwrap_or_default();
                out.insert(name, s);
            }
            continue;
        }
        if expanded {
            trimmed = strip_leading_comments(trimmed);
        }
        if trimmed == "struct {"
            || trimmed == "union {"
            || trimmed.ends_with(" {")
                && (trimmed.starts_with("struct ") || trimmed.starts_with("union "))
        {
            blocks.push(Vec::new());
            openers.push(trimmed.trim_end_matches(" {").to_string());
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('}') {
            // `} name;  /* off size */` or `};  /* off size */` (`-E`: `}name;`)
            let inner = blocks.pop().unwrap_or_default();
            let opener = openers.pop().unwrap_or_default();
            let (decl, comment) = rest.split_once(';').unwrap_or((rest, ""));
            let decl = strip_attributes(decl);
            let decl = decl.trim();
            let nesting = blocks.len().saturating_sub(1);
            let parent = blocks.last_mut();
            if let Some(parent) = parent {
                let whole = comment
                    .trim()
                    .strip_prefix("/*")
                    .and_then(|c| c.strip_suffix("*/"))
                    .and_then(parse_comment);
                if let (true, Some(name), Some((off, None, size))) =
                    (expanded, declared_name(decl), whole)
                {
                    parent.push(PaholeMember {
                        path: name,
                        decl: format!("{opener} {decl}"),
                        bit_offset: off * 8,
                        bitfield_bits: 0,
                        size,
                        nesting,
                    });
                }
                for mut m in inner {
                    if !decl.is_empty() {
                        m.path = format!("{decl}.{}", m.path);
                    }
                    parent.push(m);
                }
            }
            continue;
        }
        let Some((decl, comment)) = trimmed.split_once(';') else {
            continue;
        };
        let decl = strip_attributes(decl);
        let decl = decl.trim();
        let Some(comment) = comment
            .trim()
            .strip_prefix("/*")
            .and_then(|c| c.strip_suffix("*/"))
        else {
            continue;
        };
        let Some((off, bit, size)) = parse_comment(comment) else {
            continue;
        };
        let Some(name) = declared_name(decl) else {
            continue;
        };
        let bitfield_bits = if bit.is_some() {
            decl.rsplit(':')
                .next()
                .and_then(|b| b.trim().parse().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let nesting = blocks.len().saturating_sub(1);
        if let Some(b) = blocks.last_mut() {
            b.push(PaholeMember {
                path: name,
                decl: decl.to_string(),
                bit_offset: off * 8 + bit.unwrap_or(0),
                bitfield_bits,
                size,
                nesting,
            });
        }
    }
    out
}

/// Parses `pahole -C NAME` of an enum (`enum NAME {`, one `CONST = VALUE,`
/// a line, `};`): its constants and values in print order; empty when the
/// text holds no enum.
pub fn parse_enum(text: &str) -> Vec<(String, i128)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !inside {
            inside = line.starts_with("enum ") && line.trim_end().ends_with('{');
            continue;
        }
        if line.starts_with('}') {
            break;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if let Ok(v) = value.trim().trim_end_matches(',').trim().parse() {
            out.push((name.trim().to_string(), v));
        }
    }
    out
}

/// The bit offset of a dotted `path` in struct `name`, composed from pahole's
/// own numbers (named struct members are looked up in `structs`).
pub fn offset_of(
    structs: &BTreeMap<String, PaholeStruct>,
    name: &str,
    path: &str,
) -> Option<(u64, u32)> {
    let s = structs.get(name)?;
    if let Some(m) = s.members.iter().find(|m| m.path == path) {
        return Some((m.bit_offset, m.bitfield_bits));
    }
    let (first, rest) = path.split_once('.')?;
    let m = s.members.iter().find(|m| m.path == first)?;
    let inner = m
        .decl
        .trim_end_matches(&m.path)
        .trim()
        .strip_prefix("struct ")?
        .trim();
    let (off, bits) = offset_of(structs, inner, rest)?;
    Some((m.bit_offset + off, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_anonymous_and_bitfields() {
        let text = "struct t {\n\tlong unsigned int          flags;                /*     0     8 */\n\tunion {\n\t\tstruct list_head lru;    /*     8    16 */\n\t\tstruct {\n\t\t\tvoid * __filler; /*     8     8 */\n\t\t} inner;  /* 8 8 */\n\t};  /* 8 16 */\n\tunsigned int               x:1; /*  24: 3  4 */\n\tvoid                       (*fn)(int); /* 32 8 */\n\tchar                       comm[16]; /* 40 16 */\n\n\t/* size: 56, cachelines: 1, members: 5 */\n};\n";
        let s = &parse(text)["t"];
        assert_eq!(s.size, 56);
        let got: Vec<(&str, u64, u32, u64)> = s
            .members
            .iter()
            .map(|m| (m.path.as_str(), m.bit_offset, m.bitfield_bits, m.size))
            .collect();
        assert_eq!(
            got,
            vec![
                ("flags", 0, 0, 8),
                ("lru", 64, 0, 16),
                ("inner.__filler", 64, 0, 8),
                ("x", 195, 1, 4),
                ("fn", 256, 0, 8),
                ("comm", 320, 0, 16)
            ]
        );
    }

    #[test]
    fn parses_expanded_types_and_enums() {
        let text = "struct d {\n\t/* typedef atomic_long_t -> atomic64_t */ struct {\n\t\t/* typedef s64 -> __s64 */ long long int counter; /*     8     8 */\n\t} state_var; /*     8     8 */\n\t/* XXX 4 bytes hole, try to pack */\n\tstruct lpos {\n\t\tlong unsigned int  begin; /*    16     8 */\n\t\tunsigned int x:3; /*    24: 0  4 */\n\t}text_blk_lpos; /*    16    16 */\n\tstruct z {\n\t\tint n; /* 32 4 */\n\t} zs[2]; /* 32 8 */\n\n\t/* size: 40, cachelines: 1, members: 3 */\n};\n";
        let got = |s: &PaholeStruct| -> Vec<(String, u64, u32, u64, usize)> {
            s.members
                .iter()
                .map(|m| {
                    (
                        m.path.clone(),
                        m.bit_offset,
                        m.bitfield_bits,
                        m.size,
                        m.nesting,
                    )
                })
                .collect()
        };
        let s = &parse_expanded(text)["d"];
        assert_eq!(s.size, 40);
        let want = [
            ("state_var", 64, 0, 8, 0),
            ("state_var.counter", 64, 0, 8, 1),
            ("text_blk_lpos", 128, 0, 16, 0),
            ("text_blk_lpos.begin", 128, 0, 8, 1),
            ("text_blk_lpos.x", 192, 3, 4, 1),
            ("zs", 256, 0, 8, 0),
            ("zs[2].n", 256, 0, 4, 1),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|&(p, b, w, z, n)| (p.to_string(), b, w, z, n))
            .collect();
        assert_eq!(got(s), want);
        assert_eq!(
            offset_of(&parse_expanded(text), "d", "text_blk_lpos.begin"),
            Some((128, 0))
        );
        let e = "enum pageflags {\n\tPG_locked              = 0,\n\tPG_head = 6,\n\tNEG = -1,\n\tPG_last = 23\n};\n";
        assert_eq!(
            parse_enum(e),
            [
                ("PG_locked", 0),
                ("PG_head", 6),
                ("NEG", -1),
                ("PG_last", 23)
            ]
            .map(|(n, v)| (n.to_string(), v))
            .to_vec()
        );
        assert!(parse_enum(text).is_empty());
    }
}
