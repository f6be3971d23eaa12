#!/usr/bin/env python3
"""Extract the members of a Debian package that match shell patterns, and stop
reading as soon as every pattern has matched once.

    deb_extract.py DEB OUTDIR PATTERN...

The package's data archive is streamed through `dpkg-deb --fsys-tarfile`, so a
-dbg package of a gigabyte and more is neither unpacked whole nor read to its
end when the wanted files come early. Patterns are matched (fnmatch) against
member names without the leading "./". Each extracted file's path inside
OUTDIR is printed, one a line. A pattern may list alternatives as A|B (the
layouts of two kernel packagings, say); it is satisfied by the first member
that matches any of them. Exit status 1 (naming the package and the
patterns) when a pattern matched nothing.
"""
import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    deb, outdir, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
    pending = set(patterns)
    proc = subprocess.Popen(
        ["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
            for member in tar:
                if not pending:
                    break
                name = member.name[2:] if member.name.startswith("./") else member.name
                hit = [p for p in pending if any(fnmatch.fnmatchcase(name, a) for a in p.split("|"))]
                if not hit or not member.isfile():
                    continue
                dest = os.path.join(outdir, name)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                src = tar.extractfile(member)
                with open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                print(name)
                pending.difference_update(hit)
    finally:
        # Stopping early closes the pipe: dpkg-deb then dies of SIGPIPE, as intended.
        proc.stdout.close()
        proc.kill()
        proc.wait()
    if pending:
        print(f"{deb}: no member matches {' '.join(sorted(pending))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
