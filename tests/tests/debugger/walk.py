# Walks a crash dump with drgn, for tests/tests/debugger_walk.rs:
#   python3 walk.py DUMP VMLINUX [PADDR ...]
# Loads the debug info of vmlinux only (module debug info is not available:
# modules' missing debug info is tolerated, vmlinux's is required), then prints
# one tab-separated line per fact, text escaped (\xNN, \n):
#   task PID PPID STATE COMM   every task (for_each_task; STATE: task_state_to_char)
#   module NAME            every module (for_each_module)
#   log TIMESTAMP_NS TEXT  every printk record (get_printk_records)
#   probe PADDR zero|data|fault   a page read at a physical address
import sys

import drgn
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.sched import task_state_to_char


def esc(b):
    return b.decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii")


dump, vmlinux = sys.argv[1], sys.argv[2]
prog = drgn.Program()
try:
    prog.set_core_dump(dump)
except Exception as e:
    sys.exit(f"drgn cannot open {dump}: {type(e).__name__}: {e}")
try:
    prog.load_debug_info([vmlinux])
except drgn.MissingDebugInfoError as e:
    # Modules have no debug info here; only vmlinux's is required (below).
    print(f"{dump}: {e}".splitlines()[0], file=sys.stderr)
main = prog.main_module()
if main is None or main.debug_file_path is None:
    sys.exit(f"drgn found no debug info for vmlinux ({vmlinux}) with {dump}")
out = []
for t in for_each_task(prog):
    ppid = t.real_parent.pid.value_()
    state = task_state_to_char(t)
    out.append(f"task\t{t.pid.value_()}\t{ppid}\t{state}\t{esc(t.comm.string_())}")
for m in for_each_module(prog):
    out.append(f"module\t{esc(m.name.string_())}")
for r in get_printk_records(prog):
    out.append(f"log\t{r.timestamp}\t{esc(r.text)}")
for a in sys.argv[3:]:
    paddr = int(a, 0)
    try:
        page = prog.read(paddr, 4096, True)
        what = "zero" if page.count(0) == len(page) else "data"
    except drgn.FaultError:
        what = "fault"
    out.append(f"probe\t{paddr:#x}\t{what}")
print("\n".join(out))
