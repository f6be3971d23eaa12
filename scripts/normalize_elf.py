#!/usr/bin/env python3
"""Rewrite an ELF64 core file (e.g. qemu's dump-guest-memory output) into the layout makedumpfile
expects: ELF header, then the program headers right after it (e_phoff = 64), then the segment
data (PT_NOTE data first, PT_LOAD data page-aligned), no section headers unless PN_XNUM needs the
first one to hold the real program-header count. Segment contents and addresses are unchanged.
Stdlib only; copies with copy_file_range where available.

usage: normalize_elf.py IN.elf OUT.elf
"""
import os
import struct
import sys

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # ELF64 header (64 bytes)
PHDR = struct.Struct("<IIQQQQQQ")  # ELF64 program header (56 bytes)
SHDR = struct.Struct("<IIQQQQIIQQ")  # ELF64 section header (64 bytes)
PN_XNUM = 0xFFFF
PT_LOAD, PT_NOTE = 1, 4
PAGE = 4096


def die(msg):
    print(f"normalize_elf: ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def copy_range(fin, fout, src_off, dst_off, length):
    done = 0
    use_cfr = hasattr(os, "copy_file_range")
    while done < length:
        n = min(length - done, 1 << 30)
        if use_cfr:
            try:
                k = os.copy_file_range(fin.fileno(), fout.fileno(), n, src_off + done, dst_off + done)
            except OSError:
                use_cfr = False
                continue
        else:
            fin.seek(src_off + done)
            buf = fin.read(min(n, 8 << 20))
            fout.seek(dst_off + done)
            fout.write(buf)
            k = len(buf)
        if k <= 0:
            die(f"short read at offset {src_off + done} (file truncated?)")
        done += k


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as fin:
        size = os.fstat(fin.fileno()).st_size
        raw = fin.read(EHDR.size)
        if len(raw) < EHDR.size or raw[:4] != b"\x7fELF":
            die(f"{src} is not an ELF file")
        if raw[4] != 2 or raw[5] != 1:
            die(f"{src}: only ELF64 little-endian is supported")
        (ident, e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
         e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = EHDR.unpack(raw)
        if e_phentsize != PHDR.size:
            die(f"unexpected e_phentsize {e_phentsize}")
        phnum = e_phnum
        if e_phnum == PN_XNUM:
            if not e_shoff:
                die("PN_XNUM without section header 0")
            fin.seek(e_shoff)
            phnum = SHDR.unpack(fin.read(SHDR.size))[7]  # sh_info
        fin.seek(e_phoff)
        phdrs = [list(PHDR.unpack(fin.read(PHDR.size))) for _ in range(phnum)]

        xnum = phnum >= PN_XNUM
        off = EHDR.size + phnum * PHDR.size + (SHDR.size if xnum else 0)
        plan = []  # (index, old offset, new offset, size)
        order = sorted(range(phnum), key=lambda i: (phdrs[i][0] != PT_NOTE, phdrs[i][1]))
        for i in order:
            p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = phdrs[i]
            if p_filesz == 0:
                phdrs[i][2] = 0
                continue
            if p_offset + p_filesz > size:
                die(f"segment {i} [{p_offset:#x}+{p_filesz:#x}] lies beyond the end of the file")
            if p_type == PT_LOAD:
                off = (off + PAGE - 1) // PAGE * PAGE
            plan.append((i, p_offset, off, p_filesz))
            phdrs[i][2] = off
            off += p_filesz
        total = off

        with open(dst, "wb") as fout:
            fout.truncate(total)
            fout.write(EHDR.pack(ident, e_type, e_machine, e_version, e_entry, EHDR.size,
                                 EHDR.size + phnum * PHDR.size if xnum else 0, e_flags, EHDR.size,
                                 PHDR.size, PN_XNUM if xnum else phnum, SHDR.size if xnum else 0,
                                 1 if xnum else 0, 0))
            for p in phdrs:
                fout.write(PHDR.pack(*p))
            if xnum:
                fout.write(SHDR.pack(0, 0, 0, 0, 0, 0, 0, phnum, 0, 0))
            fout.flush()
            for i, old, new, n in plan:
                copy_range(fin, fout, old, new, n)
    print(f"normalize_elf: {src} -> {dst}: {phnum} program headers (were at {e_phoff:#x}), "
          f"{len(plan)} segments, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
