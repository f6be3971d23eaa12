//! Walking the kernel's intrusive lists (`list_head`, `hlist_head`) at a
//! kernel address, as `list_for_each_entry` and `hlist_for_each_entry` do,
//! with a guard so that a corrupt dump cannot make a walk loop forever.

use super::typed::KernelStruct;
use super::{container_of, KernelRead, ReadError};
use std::marker::PhantomData;

/// The longest list a walk follows unless told otherwise ([`Nodes::max_entries`]).
pub const DEFAULT_MAX_ENTRIES: usize = 1 << 22;

/// Which list a [`Nodes`] walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// A circular `struct list_head` list: the walk ends back at the head.
    List,
    /// A `struct hlist_head` list: `first`, then each `hlist_node.next`, until NULL.
    Hlist,
}

/// The addresses of the link members (`list_head` / `hlist_node`) of a
/// list's entries, in list order; made by [`list_nodes`] or [`hlist_nodes`].
///
/// `next` is the first pointer of `list_head`, `hlist_head` and
/// `hlist_node` alike, so the walk needs no bindings. It stops with an error
/// (and then ends) on a NULL link in a circular list, on a loop that does not
/// pass through the head (Brent's cycle detection: constant memory, found
/// within about twice the loop's length), after [`Nodes::max_entries`]
/// entries, and on a read error.
pub struct Nodes<'m> {
    mem: &'m dyn KernelRead,
    kind: ListKind,
    head: u64,
    pos: u64,
    done: bool,
    count: usize,
    limit: usize,
    saved: Option<u64>,
    power: usize,
    steps: usize,
}

impl std::fmt::Debug for Nodes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field("kind", &self.kind)
            .field("head", &format_args!("{:#x}", self.head))
            .field("count", &self.count)
            .finish()
    }
}

/// Walks the circular `list_head` list whose head is at kernel address `head`
/// (the head itself is not an entry): yields the address of each entry's
/// `list_head` member.
pub fn list_nodes(mem: &dyn KernelRead, head: u64) -> Nodes<'_> {
    Nodes::new(mem, ListKind::List, head)
}

/// Walks the `hlist_head` at kernel address `head`: yields the address of
/// each entry's `hlist_node` member.
pub fn hlist_nodes(mem: &dyn KernelRead, head: u64) -> Nodes<'_> {
    Nodes::new(mem, ListKind::Hlist, head)
}

/// `list_for_each_entry`: reads each entry of the `list_head` list at `head`
/// as a `T` whose `list_head` member is `member_offset` bytes into it (e.g.
/// `Task::tasks_offset()`).
///
/// ```
/// use ktype_runtime::memory::{list_nodes, container_of, FlatMemory};
///
/// // A head at 0x1000 and two entries whose list_head is 8 bytes in: at 0x1010 and 0x1030.
/// let mut image = vec![0u8; 0x40];
/// let mut put = |at: usize, v: u64| image[at..at + 8].copy_from_slice(&v.to_le_bytes());
/// put(0x00, 0x1018); // head.next -> entry 1's list_head
/// put(0x18, 0x1038); // entry 1 -> entry 2
/// put(0x38, 0x1000); // entry 2 -> head
/// let mem = FlatMemory::new(0x1000, &image);
/// let entries: Vec<u64> = list_nodes(&mem, 0x1000)
///     .map(|node| node.map(|n| container_of(n, 8)))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(entries, [0x1010, 0x1030]);
/// # Ok::<(), ktype_runtime::ReadError>(())
/// ```
pub fn list_entries<T: KernelStruct>(
    mem: &dyn KernelRead,
    head: u64,
    member_offset: usize,
) -> Entries<'_, T> {
    list_nodes(mem, head).entries(member_offset)
}

/// `hlist_for_each_entry`: reads each entry of the `hlist_head` list at
/// `head` as a `T` whose `hlist_node` member is `member_offset` bytes into it.
pub fn hlist_entries<T: KernelStruct>(
    mem: &dyn KernelRead,
    head: u64,
    member_offset: usize,
) -> Entries<'_, T> {
    hlist_nodes(mem, head).entries(member_offset)
}

impl<'m> Nodes<'m> {
    fn new(mem: &'m dyn KernelRead, kind: ListKind, head: u64) -> Self {
        Nodes {
            mem,
            kind,
            head,
            pos: head,
            done: false,
            count: 0,
            limit: DEFAULT_MAX_ENTRIES,
            saved: None,
            power: 1,
            steps: 0,
        }
    }

    /// Stops with [`ReadError::TooLong`] after `limit` entries (default
    /// [`DEFAULT_MAX_ENTRIES`]).
    pub fn max_entries(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Each entry read as a `T` whose link member is `member_offset` bytes into it.
    pub fn entries<T: KernelStruct>(self, member_offset: usize) -> Entries<'m, T> {
        Entries {
            nodes: self,
            member_offset,
            _t: PhantomData,
        }
    }

    /// Each entry's address (`container_of` of each node).
    pub fn containers(
        self,
        member_offset: usize,
    ) -> impl Iterator<Item = Result<u64, ReadError>> + 'm {
        self.map(move |n| n.map(|n| container_of(n, member_offset)))
    }

    fn step(&mut self) -> Result<Option<u64>, ReadError> {
        let link = self
            .mem
            .read_pointer(self.pos)
            .map_err(|source| ReadError::Memory {
                what: match self.kind {
                    ListKind::List => "list_head.next".into(),
                    ListKind::Hlist => "hlist link".into(),
                },
                addr: self.pos,
                len: 8,
                source,
            })?;
        match self.kind {
            ListKind::List if link == self.head => return Ok(None),
            ListKind::List if link == 0 => {
                return Err(ReadError::BrokenList {
                    head: self.head,
                    entries: self.count,
                })
            }
            ListKind::Hlist if link == 0 => return Ok(None),
            _ => {}
        }
        if self.saved == Some(link) {
            return Err(ReadError::Cycle {
                head: self.head,
                entries: self.count,
            });
        }
        if self.count >= self.limit {
            return Err(ReadError::TooLong {
                head: self.head,
                limit: self.limit,
            });
        }
        // Brent: remember a node at each power of two; meeting it again is a loop.
        self.steps += 1;
        if self.steps == self.power {
            self.saved = Some(link);
            self.power = self.power.saturating_mul(2);
            self.steps = 0;
        }
        self.count += 1;
        self.pos = link;
        Ok(Some(link))
    }
}

impl Iterator for Nodes<'_> {
    type Item = Result<u64, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(n)) => Some(Ok(n)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Nodes<'_> {}

/// The entries of a list read as owned `T`s; made by [`list_entries`],
/// [`hlist_entries`] or [`Nodes::entries`]. Ends after the first error.
pub struct Entries<'m, T> {
    nodes: Nodes<'m>,
    member_offset: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Entries<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("nodes", &self.nodes)
            .field("member_offset", &self.member_offset)
            .finish()
    }
}

impl<T> Entries<'_, T> {
    /// As [`Nodes::max_entries`].
    pub fn max_entries(mut self, limit: usize) -> Self {
        self.nodes.limit = limit;
        self
    }
}

impl<T: KernelStruct> Iterator for Entries<'_, T> {
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let node = match self.nodes.next()? {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let r = <T as KernelStruct>::read(self.nodes.mem, container_of(node, self.member_offset));
        if r.is_err() {
            self.nodes.done = true;
        }
        Some(r)
    }
}

impl<T: KernelStruct> std::iter::FusedIterator for Entries<'_, T> {}
