//! Friendlier problems: "did you mean" for a misspelled member, and messages
//! without the BTF's internal type ids (which mean nothing to a user).

use crate::btf::{Btf, Kind, PathError, PathErrorKind, TypeId};

/// Deepest anonymous nesting searched for names (real kernels nest a few).
const MAX_DEPTH: usize = 16;

/// Levenshtein distance of two names (bytes; names are ASCII).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `name`, if near enough to be a likely typo
/// (at most a third of the name's length, at least 1, at most 3 edits);
/// ties go to the first candidate.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c.is_empty() || c == name {
            continue;
        }
        let d = edit_distance(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The member names reachable in struct/union `id` by name: its own, and
/// those of anonymous struct and union members (as `member_path` finds them).
pub(crate) fn member_names(btf: &Btf, id: TypeId) -> Vec<&str> {
    let mut out = Vec::new();
    collect_names(btf, id, 0, &mut out);
    out
}

fn collect_names<'b>(btf: &'b Btf, id: TypeId, depth: usize, out: &mut Vec<&'b str>) {
    if depth > MAX_DEPTH || out.len() > 1 << 14 {
        return;
    }
    let Some(t) = btf.skip_modifiers(id) else {
        return;
    };
    if !matches!(t.kind(), Kind::Struct | Kind::Union) {
        return;
    }
    for m in t.members() {
        if m.name.is_empty() {
            collect_names(btf, m.type_id, depth + 1, out);
        } else {
            out.push(m.name);
        }
    }
}

/// " (did you mean `x`?)" for a member path that failed on a missing name in
/// the struct `outer`, when a member of that struct is spelled nearly so.
pub(crate) fn did_you_mean(btf: &Btf, outer: TypeId, e: &PathError) -> Option<String> {
    if e.why != PathErrorKind::NoSuchMember {
        return None;
    }
    // The type the failing component was looked up in: the path before it.
    let comps: Vec<&str> = e.path.split('.').collect();
    let at = comps.iter().position(|c| *c == e.component)?;
    let inner = if at == 0 {
        outer
    } else {
        btf.member_path(outer, &comps[..at].join(".")).ok()?.type_id
    };
    let name = e.component.split('[').next().unwrap_or(&e.component);
    let names = member_names(btf, inner);
    let found = nearest(name, names.iter().copied())?;
    let mut fixed: Vec<String> = comps.iter().map(|c| c.to_string()).collect();
    fixed[at] = e.component.replacen(name, found, 1);
    Some(format!("did you mean `{}`?", fixed.join(".")))
}

/// `s` without BTF type ids (`struct page [id 42]` becomes `struct page`).
pub(crate) fn without_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(" [id ") {
        let tail = &rest[i + 5..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with(']') {
            out.push_str(&rest[..i]);
            rest = &tail[digits + 1..];
        } else {
            out.push_str(&rest[..i + 5]);
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_nearest() {
        assert_eq!(edit_distance("pid", "pid"), 0);
        assert_eq!(edit_distance("pidd", "pid"), 1);
        assert_eq!(edit_distance("comm", "cmom"), 2);
        assert_eq!(nearest("pidd", ["tgid", "pid", "comm"]), Some("pid"));
        assert_eq!(nearest("xyzzy", ["pid", "comm"]), None);
        assert_eq!(nearest("flgs", ["flags", "lru"]), Some("flags"));
        assert_eq!(
            nearest("sched_rest_on_fork", ["sched_reset_on_fork"]),
            Some("sched_reset_on_fork")
        );
    }

    #[test]
    fn strips_type_ids() {
        assert_eq!(without_ids("struct page [id 42] has"), "struct page has");
        assert_eq!(without_ids("a [id 1], b [id 22]"), "a, b");
        assert_eq!(without_ids("keep [id x]"), "keep [id x]");
    }
}
