//! Names: Rust-to-kernel defaults, validation of kernel names, suggestions.

use syn::Ident;

/// The identifier without a leading `r#`.
pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    match s.strip_prefix("r#") {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

/// `ListHead` -> `list_head`, `Ext4SbInfo` -> `ext4_sb_info`,
/// `HTTPServer` -> `http_server`; names already in snake case are kept.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                // An acronym ends where a capital is followed by a lowercase letter.
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `s` is a C identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_c_ident(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What a kernel name literal designates; decides how it is validated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameKind {
    /// A struct, union or enum type name, or an enum constant: a C identifier.
    TypeOrConstant,
    /// One struct member (`name = ".."` on a field): a C identifier.
    Member,
    /// A dotted path through members (`path = "a.b"`, or an entry of `any(..)` on a field).
    MemberPath,
    /// A module name or a symbol name: anything non-empty without whitespace
    /// (symbols may contain `.` or `$`, e.g. `foo.constprop.0`).
    Loose,
}

/// Checks a kernel name; `Err` carries the message for the literal's span.
pub fn validate(kind: NameKind, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("kernel name must not be empty".into());
    }
    match kind {
        NameKind::TypeOrConstant => {
            if is_c_ident(value) {
                Ok(())
            } else {
                Err(format!("`{value}` is not a valid C identifier"))
            }
        }
        NameKind::Member => {
            if value.contains('.') {
                Err(format!(
                    "`name` takes a single member name; for the dotted path `{value}` \
                     write `path = \"{value}\"`"
                ))
            } else if is_c_ident(value) {
                Ok(())
            } else if value.chars().any(char::is_whitespace) {
                Err(format!(
                    "`{value}` is not a valid C member name: it contains whitespace"
                ))
            } else {
                Err(format!("`{value}` is not a valid C member name"))
            }
        }
        NameKind::MemberPath => {
            for component in value.split('.') {
                if component.is_empty() {
                    return Err(format!(
                        "invalid member path `{value}`: empty component \
                         (write members separated by single dots, e.g. `a.b`)"
                    ));
                }
                if component.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "invalid member path `{value}`: member paths cannot contain whitespace"
                    ));
                }
                if !is_c_ident(component) {
                    return Err(format!(
                        "invalid member path `{value}`: `{component}` is not a valid C member name"
                    ));
                }
            }
            Ok(())
        }
        NameKind::Loose => {
            if value.chars().any(char::is_whitespace) {
                Err(format!(
                    "`{value}` is not a valid kernel name: it contains whitespace"
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// The candidate closest to `got`, if it is plausibly a typo of it.
pub fn suggest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(got, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(got.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting an adjacent transposition as one edit
/// (optimal string alignment), so that `nmae` is one edit from `name`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_kernel_conventions() {
        assert_eq!(snake_case("Page"), "page");
        assert_eq!(snake_case("ListHead"), "list_head");
        assert_eq!(snake_case("TaskStruct"), "task_struct");
        assert_eq!(snake_case("Ext4SbInfo"), "ext4_sb_info");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("task_struct"), "task_struct");
        assert_eq!(snake_case("Ipv6Pinfo"), "ipv6_pinfo");
        assert_eq!(snake_case("MM"), "mm");
    }

    #[test]
    fn validates_names() {
        assert!(validate(NameKind::TypeOrConstant, "PG_locked").is_ok());
        assert!(validate(NameKind::TypeOrConstant, "").is_err());
        assert!(validate(NameKind::TypeOrConstant, "a b").is_err());
        assert!(validate(NameKind::MemberPath, "_refcount.counter").is_ok());
        assert!(validate(NameKind::MemberPath, "a..b").is_err());
        assert!(validate(NameKind::MemberPath, ".a").is_err());
        assert!(validate(NameKind::Member, "a.b").is_err());
        assert!(validate(NameKind::Loose, "foo.constprop.0").is_ok());
        assert!(validate(NameKind::Loose, "foo bar").is_err());
    }

    #[test]
    fn suggests_close_names() {
        let opts = ["name", "any", "path", "optional"];
        assert_eq!(suggest("optinal", &opts), Some("optional"));
        assert_eq!(suggest("nmae", &opts), Some("name"));
        assert_eq!(suggest("zzzzzz", &opts), None);
        assert_eq!(
            suggest("unoin", &["module", "name", "any", "union"]),
            Some("union")
        );
    }
}
